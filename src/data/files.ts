/**
 * File-system helpers shared by the layouts: sorted listings, image filtering, stems, and the
 * folder-name rules that decide whether a class folder holds normal or anomalous images.
 *
 * Listings are sorted by code point (not locale) so every index, split and de-duplication is
 * reproducible across machines. Symbolic links are followed (data sets are often linked into place):
 * a link counts as what it points to, a broken link as nothing; `walkImages`, the one recursive walk,
 * visits every real folder once, so a link cycle ends.
 */
import type { Dirent } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
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

/** What a folder entry is, following a symbolic link; undefined for a broken link or anything else. */
async function kindOf(dir: string, entry: Dirent): Promise<"folder" | "file" | undefined> {
  if (entry.isDirectory()) return "folder";
  if (entry.isFile()) return "file";
  if (!entry.isSymbolicLink()) return undefined;
  try {
    const info = await stat(join(dir, entry.name));
    return info.isDirectory() ? "folder" : info.isFile() ? "file" : undefined;
  } catch {
    return undefined;
  }
}

/** Entries of `dir` with their kinds (links followed), sorted by name; empty when `dir` is not a folder. */
async function entriesOf(dir: string): Promise<Array<{ name: string; kind: "folder" | "file" | undefined }>> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const kinds = await Promise.all(entries.map((e) => kindOf(dir, e)));
  return entries
    .map((e, i) => ({ name: e.name, kind: kinds[i] }))
    .sort((a, b) => byCodePoint(a.name, b.name));
}

/** Names of the sub-folders of `dir` (hidden ones skipped), sorted; empty when `dir` is not a folder. */
export async function listDirectories(dir: string): Promise<string[]> {
  return (await entriesOf(dir))
    .filter((e) => e.kind === "folder" && !e.name.startsWith("."))
    .map((e) => e.name);
}

/** Full paths of the image files directly inside `dir`, sorted; empty when `dir` is not a folder. */
export async function listImages(dir: string): Promise<string[]> {
  return (await entriesOf(dir))
    .filter((e) => e.kind === "file" && !e.name.startsWith(".") && isSupportedImagePath(e.name))
    .map((e) => join(dir, e.name));
}

/** Every supported image under `root`, recursively, sorted; each real folder is visited once. */
export async function walkImages(root: string): Promise<string[]> {
  const visited = new Set<string>();
  const found: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    const real = await realpath(dir);
    if (visited.has(real)) return;
    visited.add(real);
    for (const entry of await entriesOf(dir)) {
      const path = join(dir, entry.name);
      if (entry.kind === "folder") await visit(path);
      else if (entry.kind === "file" && isSupportedImagePath(entry.name)) found.push(path);
    }
  };
  await visit(root);
  return found.sort(byCodePoint);
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
