/**
 * Pretrained weights shipped inside the npm package (folder `weights/` at the package root, listed
 * in package.json `files`). The package root is found from this module's own location
 * (`import.meta.url`, then up to the nearest folder with a package.json: works from `src/`, `dist/`
 * and compiled benchmarks alike), never through the working directory, and the file's sha256 is
 * checked against the constant the backbone declares before anything is read from it. Nothing
 * downloads.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Module } from "../../engine/index.js";
import { decodeSafetensors } from "../../engine/safetensors.js";
import { InputFileError } from "../../errors.js";

/** Absolute path of a file in the package's `weights/` folder. */
export function packagedWeightsPath(file: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return join(dir, "weights", file);
}

/**
 * Read `file` from the package's weights, check its sha256 and copy every tensor of `module` from it
 * (by the module's parameter paths). Extra tensors in the file are ignored (e.g. a classifier head
 * the module does not build).
 */
export function loadPackagedWeights(module: Module, file: string, sha256: string): void {
  const path = packagedWeightsPath(file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new InputFileError(
      path,
      "missing",
      "pretrained weights shipped with anomalyscope; reinstall the package",
    );
  }
  const actual = createHash("sha256").update(bytes).digest("hex");
  if (actual !== sha256)
    throw new InputFileError(path, "corrupt", `sha256 ${actual}, expected ${sha256}; reinstall the package`);
  const { tensors } = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), path);
  for (const [name, p] of module.namedState()) {
    const t = tensors[name];
    if (!t || t.data.length !== p.size)
      throw new InputFileError(path, "wrong-format", `tensor ${name} is missing or has the wrong size`);
    p.value = t.data;
  }
}
