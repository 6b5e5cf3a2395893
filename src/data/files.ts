/**
 * File-system helpers shared by the layouts: sorted listings, image filtering, stems, and the
 * folder-name rules that decide whether a class folder holds normal or anomalous images.
 *
 * Listings are sorted by code point (not locale) so every index, split and de-duplication is
 * reproducible across machines.
 */
import { readdir, stat } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import { isSupportedImagePath } from "../io/index.js";

export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Names of the sub-folders of `dir` (hidden ones skipped), sorted; empty when `dir` is not a folder. */
export async function listDirectories(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory() && !e.name.startsWith("."))
      .map((e) => e.name)
      .sort(byCodePoint);
  } catch {
    return [];
  }
}

/** Full paths of the image files directly inside `dir`, sorted; empty when `dir` is not a folder. */
export async function listImages(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && !e.name.startsWith(".") && isSupportedImagePath(e.name))
      .map((e) => join(dir, e.name))
      .sort(byCodePoint);
  } catch {
    return [];
  }
}

/** File name without folder and extension (`a/b/001.nii.gz` -> `001`). */
export function stemOf(path: string): string {
  const name = basename(path);
  const lower = name.toLowerCase();
  if (lower.endsWith(".nii.gz")) return name.slice(0, -7);
  return name.slice(0, name.length - extname(name).length);
}

/** Case-insensitive sub-folder lookup: the actual name of the child of `dir` called `name`, if any. */
export async function findChild(dir: string, name: string): Promise<string | undefined> {
  const wanted = name.toLowerCase();
  return (await listDirectories(dir)).find((d) => d.toLowerCase() === wanted);
}

/**
 * Folder-name rules for class folders (case-insensitive; a trailing `_<digits>` size suffix such as
 * `normal_256` is ignored):
 * - normal: good, normal, healthy, negative, no, ok, free
 * - anomalous: bad, abnormal, anomalous, anomaly, anomalies, ungood, defect, defective, disease,
 *   diseased, pneumonia, tumor, tumour, lesion, positive, yes, nok
 */
const NORMAL_NAMES = new Set(["good", "normal", "healthy", "negative", "no", "ok", "free"]);
const ANOMALOUS_NAMES = new Set([
  "bad",
  "abnormal",
  "anomalous",
  "anomaly",
  "anomalies",
  "ungood",
  "defect",
  "defective",
  "disease",
  "diseased",
  "pneumonia",
  "tumor",
  "tumour",
  "lesion",
  "positive",
  "yes",
  "nok",
]);

/** 0 for a normal class name, 1 for an anomalous one, undefined when the name is neither. */
export function classLabel(name: string): 0 | 1 | undefined {
  const key = name.toLowerCase().replace(/_\d+$/, "");
  if (NORMAL_NAMES.has(key)) return 0;
  if (ANOMALOUS_NAMES.has(key)) return 1;
  return undefined;
}
