/**
 * Atomic file writes: write to a temporary file in the same folder, fsync it, rename it over the
 * target and fsync the folder, so a crash, SIGKILL or power loss never leaves a half-written
 * checkpoint, model or output. Temporary files are named `.<name>.<8 hex>.tmp`; a write killed before
 * its rename leaves one behind, which `removeOrphanTemporaryFiles` deletes (the trainer calls it when a
 * run starts or resumes).
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

const TEMPORARY = /^\..+\.[0-9a-f]{8}\.tmp$/;

export function isTemporaryFileName(name: string): boolean {
  return TEMPORARY.test(name);
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const folder = dirname(path);
  await mkdir(folder, { recursive: true });
  const temp = join(folder, `.${basename(path)}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    const file = await open(temp, "w");
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncFolder(folder);
}

/** fsync a folder so a rename inside it survives a crash (a no-op where folders cannot be opened). */
async function syncFolder(folder: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(folder, "r");
    await handle.sync();
  } catch {
    // Windows cannot open folders; the rename is still atomic there.
  } finally {
    await handle?.close();
  }
}

/** Delete the temporary files of interrupted atomic writes in `folder`; returns their names. */
export async function removeOrphanTemporaryFiles(folder: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(folder)).filter(isTemporaryFileName);
  } catch {
    return [];
  }
  await Promise.all(names.map((name) => rm(join(folder, name), { force: true })));
  return names;
}
