/**
 * `detectLayout` and `loadDataset`: index a data set with its layout, then apply the layout-independent
 * rules in this order — multi-slice files to one sample per slice (slices.ts), group regex, anomalies out of train, de-duplication, seeded test split for
 * unassigned samples, seeded validation split when the layout has none (see split.ts). Prints nothing.
 */
import { readdir, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { OptionError, UserError } from "../errors.js";
import { Random } from "../util/random.js";
import { findDuplicates } from "./dedupe.js";
import { byCodePoint } from "./files.js";
import { indexExplicitFolders, LAYOUTS, layoutByName } from "./layouts/index.js";
import { expandSlices } from "./slices.js";
import { applyGroupRegex, carveValidation, groupsAcrossSplits, splitUnassigned } from "./split.js";
import type { Dataset, DatasetIndex, IndexOptions, LayoutName, Sample } from "./types.js";

export interface LoadOptions extends IndexOptions {
  /** Force a layout instead of detecting one. */
  layout?: LayoutName;
  /** Explicit class folders (`--normal`, `--abnormal`, `--masks`); the root may then be undefined. */
  normal?: string[];
  abnormal?: string[];
  masks?: string;
  /** Seed of the test and validation splits (default 0). */
  seed?: number;
  /** Share of train normals carved into validation when the layout has no validation split (0.1). */
  validationFraction?: number;
  /** Share of normals put into test when the data has no split at all (0.3). */
  testFraction?: number;
  /** Group key = first capture group of this pattern on the sample path (overrides manifest groups). */
  groupRegex?: string | RegExp;
  /** Hash files and drop byte-identical duplicates (default true). */
  dedupe?: boolean;
}

const EXPECTED =
  "expected a CSV manifest, MVTec AD / LOCO / 3D-AD, BMAD, or class folders (train/<normal> + test/<class>, or <normal>/ + <anomalous>/)";

/** The name of the first layout (in priority order) that matches `root`; a typed error when none does. */
export async function detectLayout(root: string): Promise<LayoutName> {
  await checkRoot(root);
  for (const layout of LAYOUTS) if (await layout.detect(root)) return layout.name;
  throw new UserError(`${root}: no known dataset layout found (${EXPECTED})`);
}

async function checkRoot(root: string): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(root);
  } catch {
    throw new UserError(`${root}: dataset folder does not exist (${EXPECTED})`);
  }
  if (info.isDirectory() && (await readdir(root)).length === 0)
    throw new UserError(`${root}: dataset folder is empty (${EXPECTED})`);
}

function fraction(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(v >= 0 && v < 1)) throw new OptionError(`${name} must be in [0, 1), got ${v}`);
  return v;
}

export async function loadDataset(root: string | undefined, options: LoadOptions = {}): Promise<Dataset> {
  const validationFraction = fraction("validation fraction", options.validationFraction, 0.1);
  const testFraction = fraction("test fraction", options.testFraction, 0.3);
  const { layout, detected, index } = await indexData(root, options);
  const notes = [...index.notes];
  await expandIndexSlices(index);
  const all = [
    ...index.train,
    ...(index.validation ?? []),
    ...index.test,
    ...index.unassigned,
    ...index.excluded,
  ];
  if (options.groupRegex !== undefined) applyGroupRegex(all, toRegExp(options.groupRegex));

  const anomalousTrain = index.train.filter((s) => s.label === 1);
  if (anomalousTrain.length > 0) {
    notes.push(`${anomalousTrain.length} anomalous train samples excluded (train uses normals only)`);
    index.excluded.push(...anomalousTrain);
    index.train = index.train.filter((s) => s.label === 0);
  }

  const duplicates = options.dedupe === false ? [] : await dropDuplicates(index, notes);

  const random = new Random(options.seed ?? 0);
  const testRandom = random.fork();
  const validationRandom = random.fork();
  let { train, test } = index;
  if (index.unassigned.length > 0) {
    const split = splitUnassigned(index.unassigned, testFraction, testRandom);
    train = [...train, ...split.train];
    test = [...test, ...split.test];
  }
  let validation = index.validation;
  if (validation === undefined) {
    const carved = carveValidation(train, validationFraction, validationRandom);
    train = carved.train;
    validation = carved.validation;
  }
  const leaking = groupsAcrossSplits({ train, validation, test });
  if (leaking.length > 0)
    notes.push(`groups on both sides of the data set's own split: ${leaking.slice(0, 5).join(", ")}`);
  return { layout, detected, train, validation, test, duplicates, excluded: index.excluded, notes };
}

async function expandIndexSlices(index: DatasetIndex): Promise<void> {
  index.train = await expandSlices(index.train);
  if (index.validation) index.validation = await expandSlices(index.validation);
  index.test = await expandSlices(index.test);
  index.unassigned = await expandSlices(index.unassigned);
  index.excluded = await expandSlices(index.excluded);
}

function toRegExp(pattern: string | RegExp): RegExp {
  if (pattern instanceof RegExp) return pattern;
  try {
    return new RegExp(pattern);
  } catch (error) {
    throw new OptionError(`--group-regex ${pattern}: ${(error as Error).message}`);
  }
}

async function indexData(
  root: string | undefined,
  options: LoadOptions,
): Promise<{ layout: LayoutName; detected: boolean; index: DatasetIndex }> {
  if (options.normal?.length || options.abnormal?.length) {
    if (!options.normal?.length || !options.abnormal?.length)
      throw new OptionError("--normal and --abnormal must be given together");
    const dirs = [...options.normal, ...options.abnormal, ...(options.masks ? [options.masks] : [])];
    for (const dir of dirs) await checkRoot(dir);
    const index = await indexExplicitFolders({
      normal: options.normal.map((d) => resolve(d)),
      abnormal: options.abnormal.map((d) => resolve(d)),
      masks: options.masks === undefined ? undefined : resolve(options.masks),
    });
    return { layout: "folders", detected: false, index: await nonEmpty(index, dirs.join(", ")) };
  }
  if (root === undefined)
    throw new OptionError("no dataset given: pass a dataset folder or --normal/--abnormal");
  const absolute = resolve(root);
  const forced = options.layout === undefined ? undefined : layoutByName(options.layout);
  if (forced !== undefined) await checkRoot(absolute);
  const layout = forced ?? layoutByName(await detectLayout(absolute));
  const index = await layout.index(absolute, options);
  return { layout: layout.name, detected: forced === undefined, index: await nonEmpty(index, absolute) };
}

async function nonEmpty(index: DatasetIndex, where: string): Promise<DatasetIndex> {
  const count =
    index.train.length + (index.validation?.length ?? 0) + index.test.length + index.unassigned.length;
  if (count === 0)
    throw new UserError(`${where}: the dataset layout matched but holds no images (${EXPECTED})`);
  return index;
}

/**
 * Hash every image once; in each group of byte-identical files keep one representative and drop the rest
 * from every split. The kept copy is the one in the split least harmful to keep (test, then validation,
 * then unassigned, then train), ties broken by path (code point order). Duplicates that are all inside
 * the data set's own test split are reported but kept, so official test sets keep their size. Groups are
 * returned kept-copy first, ordered by that path.
 */
const TEST_RANK = 0;

async function dropDuplicates(index: DatasetIndex, notes: string[]): Promise<string[][]> {
  const rank = new Map<string, number>();
  const splits: Sample[][] = [index.test, index.validation ?? [], index.unassigned, index.train];
  splits.forEach((samples, r) => {
    for (const s of samples) if (!rank.has(s.path)) rank.set(s.path, r);
  });
  const paths = [...rank.keys()].sort(byCodePoint);
  const groups = (await findDuplicates(paths))
    .map((group) => group.sort((a, b) => rank.get(a)! - rank.get(b)! || byCodePoint(a, b)))
    .sort((a, b) => byCodePoint(a[0], b[0]));
  if (groups.length === 0) return [];
  const dropped = new Set(groups.flatMap((g) => g.slice(1).filter((path) => rank.get(path) !== TEST_RANK)));
  const keep = (samples: Sample[]) => samples.filter((s) => !dropped.has(s.path));
  index.train = keep(index.train);
  index.test = keep(index.test);
  index.unassigned = keep(index.unassigned);
  if (index.validation) index.validation = keep(index.validation);
  notes.push(`${groups.length} groups of byte-identical files; ${dropped.size} duplicates dropped`);
  const keptInTest = groups.reduce((n, g) => n + g.length - 1, 0) - dropped.size;
  if (keptInTest > 0) notes.push(`${keptInTest} duplicates kept inside the data set's own test split`);
  const labelOf = new Map([...splits.flat()].map((s) => [s.path, s.label]));
  const conflicting = groups.filter((g) => new Set(g.map((p) => labelOf.get(p))).size > 1).length;
  if (conflicting > 0) notes.push(`${conflicting} duplicate groups have conflicting labels`);
  return groups;
}
