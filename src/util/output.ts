/**
 * Output folders (`--out` of train, test and predict). Nothing in a non-empty folder is overwritten
 * without `--overwrite` (a checkpoint being resumed is the one allowed content), an `--out` that is a
 * file is a one-line error, and a lock file (`.anomalyscope.lock`, holding the pid) keeps a second
 * process out of a folder in use; a lock whose process is gone is stale and taken over. When the run
 * fails, a folder it created and left empty is removed again.
 *
 * The lock file and the temporary files of interrupted atomic writes are ours and do not count as
 * content.
 */
import { constants } from "node:fs";
import { mkdir, open, readdir, readFile, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { OptionError } from "../errors.js";
import { isTemporaryFileName, removeOrphanTemporaryFiles } from "./atomic.js";

export const LOCK_FILE = ".anomalyscope.lock";

export interface OutputFolderOptions {
  /** The option that named the folder, for messages (default `--out`). */
  option?: string;
  overwrite?: boolean;
  /** Content is expected (a checkpoint being resumed); no `--overwrite` needed. */
  resuming?: boolean;
  /** Appended to the "not empty" message, e.g. a hint to resume. */
  hint?: string;
}

export interface OutputFolder {
  path: string;
  /** Remove the lock; when `failed`, also the folder if this run created it and it is empty. */
  release(failed: boolean): Promise<void>;
}

async function existingKind(path: string, option: string): Promise<"missing" | "folder"> {
  try {
    if ((await stat(path)).isDirectory()) return "folder";
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "missing";
    if (code !== "ENOTDIR") throw error;
  }
  throw new OptionError(`${option} ${path}: not a folder (a file is in the way)`);
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function lockOwner(folder: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(join(folder, LOCK_FILE), "utf8"), 10);
    return Number.isInteger(pid) && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function lockedError(option: string, path: string, pid: number): OptionError {
  return new OptionError(
    `${option} ${path}: another anomalyscope process (pid ${pid}) is writing here (lock file ${LOCK_FILE})`,
  );
}

/** Check `path` as an output folder, create it and take its lock. */
export async function openOutputFolder(
  path: string,
  options: OutputFolderOptions = {},
): Promise<OutputFolder> {
  const option = options.option ?? "--out";
  const existed = (await existingKind(path, option)) === "folder";
  if (existed) {
    const owner = await lockOwner(path);
    if (owner !== undefined) throw lockedError(option, path, owner);
    const content = (await readdir(path)).filter((name) => name !== LOCK_FILE && !isTemporaryFileName(name));
    if (content.length > 0 && !options.overwrite && !options.resuming) {
      const shown = content.slice(0, 3).join(", ") + (content.length > 3 ? ", ..." : "");
      throw new OptionError(
        `${option} ${path}: folder is not empty (${shown}); pass --overwrite to replace its content${options.hint ?? ""}`,
      );
    }
  }
  await mkdir(path, { recursive: true });
  const lock = join(path, LOCK_FILE);
  try {
    const handle = await open(lock, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY);
    await handle.writeFile(String(process.pid));
    await handle.close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const owner = await lockOwner(path);
    if (owner !== undefined) throw lockedError(option, path, owner);
    await writeFile(lock, String(process.pid));
  }
  await removeOrphanTemporaryFiles(path);
  return {
    path,
    async release(failed) {
      await rm(lock, { force: true });
      if (failed && !existed) {
        await removeOrphanTemporaryFiles(path);
        await rmdir(path).catch(() => undefined);
      }
    },
  };
}
