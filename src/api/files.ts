/**
 * Expanding the paths given to `predict`: files, folders (searched recursively for supported images)
 * and globs (`*`, `?`, `**`), in a stable sorted order. Node 20 has no fs.glob, and a full glob library
 * is more than these three wildcards need.
 */
import { readdir, stat } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { InputFileError, UserError } from "../errors.js";
import { isSupportedImagePath } from "../io/index.js";

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && isSupportedImagePath(e.name))
    .map((e) => join(e.parentPath ?? dir, e.name))
    .sort();
}

function globToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*" && pattern[i + 1] === "*") {
      re += ".*";
      i++;
      if (pattern[i + 1] === "/") i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

export async function expandInputs(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    if (/[*?]/.test(path)) {
      const absolute = resolve(path).split(sep).join("/");
      const base = absolute.slice(0, absolute.search(/[*?]/)).replace(/[^/]*$/, "");
      const matcher = globToRegExp(absolute);
      const matches = (await walk(base)).filter((f) => matcher.test(f.split(sep).join("/")));
      if (matches.length === 0) throw new UserError(`${path}: no image matches this pattern`);
      out.push(...matches);
      continue;
    }
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch {
      throw new InputFileError(path, "missing");
    }
    if (info.isDirectory()) {
      const files = await walk(path);
      if (files.length === 0) throw new UserError(`${path}: the folder contains no supported image`);
      out.push(...files);
    } else out.push(path);
  }
  return out;
}
