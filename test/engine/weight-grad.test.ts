/**
 * The im2col + MatMul weight gradient of ungrouped convolutions when the im2col exceeds its chunk
 * size (`IM2COL_CHUNK_ELEMENTS`): built in batch chunks (here 4 + 4 + 2 images, each image's im2col a
 * quarter of a chunk) whose partial gradients are summed, equal to a
 * direct summation. (Small geometries of both weight-gradient forms are checked against finite
 * differences in vjp.test.ts.)
 */
import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/api.js";
import { grad } from "../../src/engine/autodiff/grad.js";
import { IM2COL_CHUNK_ELEMENTS } from "../../src/engine/autodiff/rules.js";
import { trace } from "../../src/engine/ir.js";
import { CompiledGraph } from "../../src/engine/runtime.js";
import { Random } from "../../src/util/random.js";

describe("chunked weight gradient", () => {
  it("sums the chunks' partial gradients to the direct Σ dy · x over the whole batch", async () => {
    const [n, c, m, s, k] = [10, 16, 2, 64, 4];
    const out = s + 2 - k + 1; // stride 1, pad 1
    const perImage = c * k * k * out * out;
    expect(Math.ceil((n * perImage) / IM2COL_CHUNK_ELEMENTS)).toBe(3);
    const { graph, result } = trace(() => {
      const x = T.input("x", [n, c, s, s]);
      const w = T.input("w", [m, c, k, k]);
      const r = T.input("r", [n, m, out, out]);
      const y = T.emit("Conv", [x, w], {
        strides: [1, 1],
        dilations: [1, 1],
        pads: [1, 1, 1, 1],
        group: 1,
        kernel_shape: [k, k],
      })[0];
      return grad(T.sum(T.mul(y, r)), [w])[0];
    });
    const im2cols = graph.nodes.filter((node) => node.op === "Conv" && node.inputs[1].constValue);
    expect(im2cols.map((node) => node.inputs[0].shape[0])).toEqual([4 * c, 4 * c, 2 * c]);

    const rng = new Random(3);
    const x = Float32Array.from({ length: n * c * s * s }, () => rng.normal());
    const r = Float32Array.from({ length: n * m * out * out }, () => rng.normal());
    const compiled = await CompiledGraph.create(graph, { dw: result });
    const dw = (await compiled.run({ x, w: new Float32Array(m * c * k * k), r })).dw as Float32Array;
    await compiled.release();

    const expected = new Float64Array(m * c * k * k);
    for (let b = 0; b < n; b++)
      for (let o = 0; o < m; o++)
        for (let ch = 0; ch < c; ch++)
          for (let i = 0; i < k; i++)
            for (let j = 0; j < k; j++) {
              let acc = 0;
              for (let p = 0; p < out; p++) {
                const row = p + i - 1;
                if (row < 0 || row >= s) continue;
                for (let q = 0; q < out; q++) {
                  const col = q + j - 1;
                  if (col < 0 || col >= s) continue;
                  acc += r[((b * m + o) * out + p) * out + q] * x[((b * c + ch) * s + row) * s + col];
                }
              }
              expected[((o * c + ch) * k + i) * k + j] += acc;
            }
    const scale = expected.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    for (let i = 0; i < expected.length; i++)
      expect(Math.abs(dw[i] - expected[i])).toBeLessThan(1e-5 * scale);
  });
});
