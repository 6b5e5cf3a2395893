/** Multi-slice NIfTI volumes become per-slice samples grouped by volume, labelled from their mask slices. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { batches, loadDataset, type Sample } from "../../src/data/index.js";
import { tempDir } from "./helpers.js";

/** A minimal single-file NIfTI-1 volume, uint8, width x height x depth, voxel (i, j, k) = value(i, j, k). */
function writeNifti(path: string, [w, h, d]: number[], value: (i: number, j: number, k: number) => number) {
  const header = Buffer.alloc(352);
  header.writeInt32LE(348, 0);
  for (const [i, v] of [3, w, h, d, 1, 1, 1, 1].entries()) header.writeInt16LE(v, 40 + 2 * i);
  header.writeInt16LE(2, 70);
  header.writeInt16LE(8, 72);
  for (let i = 0; i < 8; i++) header.writeFloatLE(1, 76 + 4 * i);
  header.writeFloatLE(352, 108);
  header.writeFloatLE(1, 112);
  header.write("n+1\0", 344, "latin1");
  const voxels = Buffer.alloc(w * h * d);
  for (let k = 0; k < d; k++)
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) voxels[(k * h + j) * w + i] = value(i, j, k);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, Buffer.concat([header, voxels]));
}

describe("multi-slice volumes", () => {
  it("expand to one sample per slice, grouped by volume, slice labels from the mask volume", async () => {
    const root = tempDir();
    for (let v = 0; v < 6; v++)
      writeNifti(join(root, "normal", `n${v}.nii`), [8, 8, 3], (i, j, k) => (i + j + k + v) * 10);
    writeNifti(join(root, "tumour", "t0.nii"), [8, 8, 3], (i, j) => i * 20 + j);
    writeNifti(join(root, "masks", "t0_mask.nii"), [8, 8, 3], (i, _j, k) => (k === 1 && i > 4 ? 1 : 0));
    const ds = await loadDataset(undefined, {
      normal: [join(root, "normal")],
      abnormal: [join(root, "tumour")],
      masks: join(root, "masks"),
      seed: 2,
    });
    const all = [...ds.train, ...ds.validation, ...ds.test];
    expect(all.length).toBe(7 * 3);
    const tumour = ds.test.filter((s) => s.path.endsWith("t0.nii"));
    expect(tumour.map((s) => [s.slice, s.label])).toEqual([
      [0, 0],
      [1, 1],
      [2, 0],
    ]);
    const sideOf = new Map<string, string>();
    for (const [name, split] of Object.entries({ train: ds.train, validation: ds.validation, test: ds.test }))
      for (const s of split) {
        expect(s.group).toBe(s.path);
        expect(sideOf.get(s.path) ?? name).toBe(name);
        sideOf.set(s.path, name);
      }

    const decoded = [];
    for await (const b of batches(tumour as Sample[], { batchSize: 3, size: 8, withMasks: true }))
      decoded.push(b);
    const masks = decoded[0].masks!;
    expect(masks.subarray(0, 64).some((v) => v > 0)).toBe(false);
    expect(masks.subarray(64, 128).filter((v) => v === 1).length).toBe(3 * 8);
    expect(decoded[0].images.length).toBe(3 * 64);
  });
});
