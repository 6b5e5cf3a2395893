import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/index.js";
import { neighbourGather, neighbourIndices, patchify, unpatchify } from "../../src/nn/index.js";
import { randomValues, runReference, traceModel } from "./helpers.js";

describe("patch grid helpers", () => {
  for (const n of [2, 3]) {
    it(`patchify cuts a ${n}×${n} grid row-major per image and unpatchify inverts it exactly`, () => {
      const [batch, channels, side] = [2, 3, 6 * n];
      const patch = side / n;
      const x = randomValues(n, batch * channels * side * side);
      const traced = traceModel(undefined, { x: [batch, channels, side, side] }, ({ x }) => {
        const patches = patchify(x, n);
        return { patches, back: unpatchify(patches, n) };
      });
      expect(traced.outputs.patches.shape).toEqual([batch * n * n, channels, patch, patch]);
      const r = runReference(traced, undefined, { x });
      expect(r.back).toEqual(Array.from(x, Number));
      for (let b = 0; b < batch; b++)
        for (let p = 0; p < n * n; p++)
          for (let c = 0; c < channels; c++)
            for (let y = 0; y < patch; y++)
              for (let xx = 0; xx < patch; xx++) {
                const row = Math.floor(p / n) * patch + y;
                const col = (p % n) * patch + xx;
                const source = x[((b * channels + c) * side + row) * side + col];
                const got = r.patches[(((b * n * n + p) * channels + c) * patch + y) * patch + xx];
                expect(got).toBe(source);
              }
    });
  }

  it("rejects a side that the grid does not divide", () => {
    T.trace(() => {
      expect(() => patchify(T.input("x", [1, 1, 10, 10]), 3)).toThrow(/3×3 grid/);
    });
  });

  it("neighbourGather returns the 8 neighbours without the centre, zero outside the grid", () => {
    const n = 3;
    const d = 2;
    const tokens = Float32Array.from({ length: n * n * d }, (_, i) => Math.floor(i / d) + 1);
    const traced = traceModel(undefined, { t: [1, n * n, d] }, ({ t }) => ({ keys: neighbourGather(t, n) }));
    expect(traced.outputs.keys.shape).toEqual([n * n, 8, d]);
    const keys = runReference(traced, undefined, { t: tokens }).keys;
    const cell = (p: number, j: number) => keys[(p * 8 + j) * d] - 1;
    // centre cell 4: all 8 others, in row-major order
    expect(Array.from({ length: 8 }, (_, j) => cell(4, j))).toEqual([0, 1, 2, 3, 5, 6, 7, 8]);
    // corner cell 0: 5 zero rows (−1 after the shift), neighbours 1, 3, 4
    expect(Array.from({ length: 8 }, (_, j) => cell(0, j))).toEqual([-1, -1, -1, -1, 1, -1, 3, 4]);
    for (let p = 0; p < n * n; p++) for (let j = 0; j < 8; j++) expect(cell(p, j)).not.toBe(p);
  });

  it("on a 2×2 grid every cell has 3 real neighbours and 5 zero rows", () => {
    const indices = neighbourIndices(2);
    for (let p = 0; p < 4; p++) {
      const row = indices.slice(p * 8, p * 8 + 8);
      expect(row.filter((i) => i === 4)).toHaveLength(5);
      expect(row.filter((i) => i < 4).sort()).toEqual([0, 1, 2, 3].filter((q) => q !== p));
    }
  });
});
