/**
 * Plain class folders. Three forms:
 * - split root: `train/<normal>` plus `test/<class>` (and optionally `val|valid|validation/<class>`),
 *   e.g. chest_xray_zhanglab (`train/NORMAL`, `test/NORMAL`, `test/PNEUMONIA`);
 * - flat root: `<normal>/` and `<anomalous>/` class folders with no split, e.g. brain_tumor_yesno;
 * - explicit folders (`--normal DIR --abnormal DIR [--masks DIR]`), no split.
 * Class names follow `classLabel` in ../files.ts (case-insensitive good/normal/... vs
 * bad/abnormal/anomalous/ungood/defect/pneumonia/...). Unsplit samples get a split from the split rules.
 * Masks (explicit form) are matched by stem, with or without a `_mask` suffix.
 */
import { basename, join } from "node:path";
import { UserError } from "../../errors.js";
import { classLabel, findChild, listDirectories } from "../files.js";
import { type DatasetIndex, emptyIndex, type Layout, type Sample } from "../types.js";
import { masksByStem, samplesFromFolder } from "./shared.js";

const SPLIT_FOLDERS = {
  train: ["train"],
  validation: ["val", "valid", "validation"],
  test: ["test"],
} as const;

async function childFolder(dir: string, names: readonly string[]): Promise<string | undefined> {
  for (const name of names) {
    const actual = await findChild(dir, name);
    if (actual !== undefined) return join(dir, actual);
  }
  return undefined;
}

async function classFolders(dir: string): Promise<string[]> {
  return (await listDirectories(dir)).filter((name) => classLabel(name) !== undefined);
}

/** Samples of every class folder in `dir`; a folder with an unknown class name is an error. */
async function classSamples(dir: string): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (const name of await listDirectories(dir)) {
    const label = classLabel(name);
    if (label === undefined)
      throw new UserError(
        `${join(dir, name)}: folder name is neither normal (good, normal, ...) nor anomalous (abnormal, defect, ...)`,
      );
    samples.push(...(await samplesFromFolder(join(dir, name), label, name)));
  }
  return samples;
}

async function isSplitRoot(root: string): Promise<boolean> {
  const train = await childFolder(root, SPLIT_FOLDERS.train);
  const test = await childFolder(root, SPLIT_FOLDERS.test);
  if (train === undefined || test === undefined) return false;
  const trainClasses = await classFolders(train);
  return trainClasses.some((name) => classLabel(name) === 0) && (await classFolders(test)).length > 0;
}

async function isFlatRoot(root: string): Promise<boolean> {
  const labels = new Set((await classFolders(root)).map((name) => classLabel(name)));
  return labels.has(0) && labels.has(1);
}

export const folders: Layout = {
  name: "folders",
  detect: async (root) => (await isSplitRoot(root)) || (await isFlatRoot(root)),
  index: async (root) => {
    const index = emptyIndex();
    if (!(await isSplitRoot(root))) {
      index.unassigned = await classSamples(root);
      index.notes.push("no split in the data; seeded split rules applied");
      return index;
    }
    index.train = await classSamples((await childFolder(root, SPLIT_FOLDERS.train))!);
    index.test = await classSamples((await childFolder(root, SPLIT_FOLDERS.test))!);
    const validation = await childFolder(root, SPLIT_FOLDERS.validation);
    if (validation !== undefined) index.validation = await classSamples(validation);
    return index;
  },
};

export interface ExplicitFolders {
  normal: string[];
  abnormal: string[];
  masks?: string;
}

/** Index explicit `--normal` / `--abnormal` folders (no split; masks by stem from `--masks`). */
export async function indexExplicitFolders(source: ExplicitFolders): Promise<DatasetIndex> {
  const index = emptyIndex();
  const masks = source.masks === undefined ? undefined : await masksByStem(source.masks, "_mask");
  for (const dir of source.normal) index.unassigned.push(...(await samplesFromFolder(dir, 0, basename(dir))));
  for (const dir of source.abnormal)
    index.unassigned.push(...(await samplesFromFolder(dir, 1, basename(dir), masks)));
  index.notes.push("explicit normal/abnormal folders; seeded split rules applied");
  return index;
}
