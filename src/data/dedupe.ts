/**
 * Byte-identical duplicate detection. Files are first grouped by size (only equal sizes can be equal
 * bytes); files sharing a size are hashed with SHA-256 (streamed, a bounded number of files open at once)
 * and files with equal digests form a duplicate group.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { InputFileError } from "../errors.js";
import { mapConcurrent } from "./pool.js";

const CONCURRENT_FILES = 16;

function fileError(path: string, error: unknown): InputFileError {
  const code = (error as NodeJS.ErrnoException).code;
  return new InputFileError(path, code === "ENOENT" ? "missing" : "corrupt", code);
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (error) {
    throw fileError(path, error);
  }
  return hash.digest("hex");
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    throw fileError(path, error);
  }
}

/** Items grouped by key, groups in order of first appearance, members in input order. */
function groupBy(paths: readonly string[], keys: readonly (string | number)[]): string[][] {
  const groups = new Map<string | number, string[]>();
  paths.forEach((path, i) => {
    const group = groups.get(keys[i]);
    if (group) group.push(path);
    else groups.set(keys[i], [path]);
  });
  return [...groups.values()];
}

/** Groups (size >= 2) of paths with identical bytes, each group in input order. */
export async function findDuplicates(paths: readonly string[]): Promise<string[][]> {
  const sizes = await mapConcurrent(paths, CONCURRENT_FILES, fileSize);
  const candidates = groupBy(paths, sizes)
    .filter((group) => group.length > 1)
    .flat();
  const digests = await mapConcurrent(candidates, CONCURRENT_FILES, sha256File);
  return groupBy(candidates, digests).filter((group) => group.length > 1);
}
