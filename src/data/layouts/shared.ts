/**
 * Helpers shared by the layout modules: sample construction from class folders, mask lookup by stem,
 * and category resolution for MVTec-family roots that hold one folder per category.
 */
import { basename, join } from "node:path";
import { OptionError } from "../../errors.js";
import { findChild, isDirectory, listDirectories, listImages, stemOf } from "../files.js";
import type { IndexOptions, Sample } from "../types.js";

/** Mask paths by image stem: files `<stem><suffix>.<ext>` (suffix optional) and folders `<stem>/` of masks. */
export async function masksByStem(dir: string, suffix = ""): Promise<Map<string, string[]>> {
  const byStem = new Map<string, string[]>();
  const add = (stem: string, paths: string[]) => byStem.set(stem, [...(byStem.get(stem) ?? []), ...paths]);
  for (const file of await listImages(dir)) {
    const stem = stemOf(file);
    add(suffix && stem.endsWith(suffix) ? stem.slice(0, -suffix.length) : stem, [file]);
  }
  for (const sub of await listDirectories(dir)) add(sub, await listImages(join(dir, sub)));
  return byStem;
}

/** Samples for every image in `dir`, masks looked up by stem (anomalous samples only). */
export async function samplesFromFolder(
  dir: string,
  label: 0 | 1,
  defectType: string,
  masks?: Map<string, string[]>,
): Promise<Sample[]> {
  return (await listImages(dir)).map((path) => ({
    path,
    label,
    maskPaths: label === 1 ? (masks?.get(stemOf(path)) ?? []) : [],
    defectType,
  }));
}

/** The `good` folder (case-insensitive) of `dir`, if present. */
export async function goodFolder(dir: string): Promise<string | undefined> {
  const name = await findChild(dir, "good");
  return name === undefined ? undefined : join(dir, name);
}

/**
 * The category folder to index: `root` itself when it is a category, otherwise the sub-folder named by
 * `options.category`, or the only category sub-folder. Several categories without `--category` is an error.
 */
export async function resolveCategory(
  root: string,
  options: IndexOptions,
  isCategory: (dir: string) => Promise<boolean>,
): Promise<{ dir: string; category: string }> {
  if (await isCategory(root)) {
    if (options.category !== undefined && options.category !== basename(root))
      throw new OptionError(
        `--category ${options.category}: ${root} is itself the category ${basename(root)}`,
      );
    return { dir: root, category: basename(root) };
  }
  const categories = await categoriesIn(root, isCategory);
  if (options.category !== undefined) {
    if (!categories.includes(options.category))
      throw new OptionError(
        `--category ${options.category}: not found in ${root} (categories: ${categories.join(", ") || "none"})`,
      );
    return { dir: join(root, options.category), category: options.category };
  }
  if (categories.length !== 1)
    throw new OptionError(
      `${root} holds ${categories.length} categories (${categories.join(", ")}); pick one with --category`,
    );
  return { dir: join(root, categories[0]), category: categories[0] };
}

/** Sub-folders of `root` that are categories. */
export async function categoriesIn(
  root: string,
  isCategory: (dir: string) => Promise<boolean>,
): Promise<string[]> {
  const found: string[] = [];
  for (const name of await listDirectories(root)) if (await isCategory(join(root, name))) found.push(name);
  return found;
}

/** Detector for category layouts: root is a category or holds at least one. */
export async function isCategoryOrParent(
  root: string,
  isCategory: (dir: string) => Promise<boolean>,
): Promise<boolean> {
  if (await isCategory(root)) return true;
  return (await categoriesIn(root, isCategory)).length > 0;
}

/** True when `dir/train/good` and `dir/test` are folders: the common core of the MVTec family. */
export async function hasTrainGoodAndTest(dir: string): Promise<boolean> {
  return (await isDirectory(join(dir, "train", "good"))) && (await isDirectory(join(dir, "test")));
}
