/**
 * Expanding the paths given to `predict`: files, folders (searched recursively for supported images)
 * and globs (`*`, `?`, `**`), in a stable sorted order. Node 20 has no fs.glob, and a full glob library
 * is more than these three wildcards need. Folders are walked with `walkImages` (symbolic links
 * followed, each real folder once); a pattern whose fixed part names a missing folder is an error naming
 * that folder.
 */
import { stat } from "node:fs/promises";
import { resolve, sep } from "node:path";
import { walkImages as walk } from "../data/files.js";
import { InputFileError, UserError } from "../errors.js";

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
      if (
        !(await stat(base).then(
          (info) => info.isDirectory(),
          () => false,
        ))
      )
        throw new InputFileError(base, "missing", `folder of the pattern ${path}`);
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
