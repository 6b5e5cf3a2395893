/**
 * Types shared by every dataset layout, the split rules, preprocessing and the batch stream.
 *
 * A layout turns a folder (or a CSV manifest) into a `DatasetIndex`: lists of `Sample`s per split as the
 * data set itself defines them. `loadDataset` then applies the layout-independent rules (de-duplication,
 * validation carving, a seeded test split when the data has none) and returns a `Dataset`.
 */

/** One image of a data set. `label` 1 = anomalous. `maskPaths` are unioned (any pixel > 0 is anomalous). */
export interface Sample {
  path: string;
  label: 0 | 1;
  maskPaths: string[];
  /** Key that must never appear on both sides of a split (patient, part, volume). */
  group?: string;
  /** Slice index inside a multi-slice file (volume or multi-frame DICOM). */
  slice?: number;
  /** Defect type / class folder name, e.g. `crack`, `good`, `Ungood`. */
  defectType?: string;
}

/** The splits a layout can assign. `unassigned` samples get a split from the split rules. */
export interface DatasetIndex {
  train: Sample[];
  /** Present only when the layout defines its own validation split (MVTec 3D `validation/`, BMAD `valid/`). */
  validation?: Sample[];
  test: Sample[];
  /** Samples the data set does not assign to any split (e.g. `normal/` + `abnormal/` folders). */
  unassigned: Sample[];
  /** Samples kept on disk but not to be used (manifest split `excluded`). */
  excluded: Sample[];
  /** Human-readable remarks, e.g. `category bottle`. */
  notes: string[];
}

/** Options that a layout reads while indexing. */
export interface IndexOptions {
  /** MVTec-style roots holding several categories: the one to load. */
  category?: string;
}

/** One dataset layout: a name, a cheap detector and an indexer. */
export interface Layout {
  name: LayoutName;
  detect(root: string): Promise<boolean>;
  index(root: string, options: IndexOptions): Promise<DatasetIndex>;
}

export type LayoutName = "manifest" | "mvtec3d" | "loco" | "mvtec" | "bmad" | "folders";

/** The result of `loadDataset`: final splits, nothing printed. */
export interface Dataset {
  layout: LayoutName;
  /** False when the layout was forced through `options.layout` or explicit `normal`/`abnormal` folders. */
  detected: boolean;
  train: Sample[];
  validation: Sample[];
  test: Sample[];
  /** Groups of byte-identical files (paths); only the first of each group is kept. */
  duplicates: string[][];
  /** Samples excluded by the data set itself; never used for training. */
  excluded: Sample[];
  notes: string[];
}

export function emptyIndex(): DatasetIndex {
  return { train: [], test: [], unassigned: [], excluded: [], notes: [] };
}
