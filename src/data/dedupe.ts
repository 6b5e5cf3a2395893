/**
 * Byte-identical duplicate detection: every file is hashed with SHA-256 (streamed, a bounded number of
 * files open at once) and files with equal digests form a duplicate group.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { InputFileError } from "../errors.js";
import { mapConcurrent } from "./pool.js";

const CONCURRENT_FILES = 16;

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputFileError(path, code === "ENOENT" ? "missing" : "corrupt", code);
  }
  return hash.digest("hex");
}

/** Groups (size >= 2) of paths with identical bytes, each group in input order, groups by first member. */
export async function findDuplicates(paths: readonly string[]): Promise<string[][]> {
  const digests = await mapConcurrent(paths, CONCURRENT_FILES, sha256File);
  const byDigest = new Map<string, string[]>();
  paths.forEach((path, i) => {
    const group = byDigest.get(digests[i]);
    if (group) group.push(path);
    else byDigest.set(digests[i], [path]);
  });
  return [...byDigest.values()].filter((group) => group.length > 1);
}
