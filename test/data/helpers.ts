/** Test helpers: tiny PNG files in temporary folders. */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createImage } from "../../src/io/image.js";
import { encodePng } from "../../src/io/png.js";

export function tempDir(prefix = "anomalyscope-data-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

const encoded = new Map<number, Uint8Array>();

/** PNG bytes of a 4x4 grey image encoding `value` (< 65536) in two pixels: distinct values, distinct bytes. */
export async function tinyPng(value: number): Promise<Uint8Array> {
  let bytes = encoded.get(value);
  if (!bytes) {
    const image = createImage(4, 4, 1);
    image.data[0] = (value % 256) / 255;
    image.data[1] = Math.floor(value / 256) / 255;
    bytes = await encodePng(image);
    encoded.set(value, bytes);
  }
  return bytes;
}

let counter = 0;

/** Write a tiny PNG at `root/relative` (folders created); unique content unless `value` is given. */
export async function png(root: string, relative: string, value?: number): Promise<string> {
  const path = join(root, relative);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, await tinyPng(value ?? 1000 + counter++));
  return path;
}

/** Write several tiny PNGs with unique contents. */
export async function pngs(root: string, folder: string, names: string[]): Promise<string[]> {
  return Promise.all(names.map((name) => png(root, join(folder, name))));
}

export function names(count: number, prefix = ""): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(3, "0")}.png`);
}
