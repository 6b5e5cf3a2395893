import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/index.js";
import {
  attentionEntropy,
  bceWithLogits,
  gaussianWindow,
  l1,
  mse,
  ssimLoss,
  ssimMap,
} from "../../src/nn/losses.js";
import { Random } from "../../src/util/random.js";
import { expectClose, randomValues, runReference, traceModel } from "./helpers.js";

function evaluate(
  shapes: Record<string, readonly number[]>,
  feeds: Record<string, ArrayLike<number>>,
  build: (inputs: Record<string, T.Tensor>) => Record<string, T.Tensor>,
): Record<string, number[]> {
  return runReference(traceModel(undefined, shapes, build), undefined, feeds);
}

/** Direct float64 SSIM with a 2-D Gaussian window and reflect (mirror without edge repeat) borders. */
function directSsim(x: ArrayLike<number>, y: ArrayLike<number>, shape: readonly number[]): number[] {
  const [n, c, h, w] = shape;
  const g = gaussianWindow(11, 1.5);
  const reflect = (i: number, size: number) => (i < 0 ? -i : i >= size ? 2 * (size - 1) - i : i);
  const out: number[] = [];
  for (let plane = 0; plane < n * c; plane++)
    for (let r = 0; r < h; r++)
      for (let col = 0; col < w; col++) {
        let mx = 0;
        let my = 0;
        let sxx = 0;
        let syy = 0;
        let sxy = 0;
        for (let i = -5; i <= 5; i++)
          for (let j = -5; j <= 5; j++) {
            const weight = g[i + 5] * g[j + 5];
            const k = plane * h * w + reflect(r + i, h) * w + reflect(col + j, w);
            mx += weight * x[k];
            my += weight * y[k];
            sxx += weight * x[k] * x[k];
            syy += weight * y[k] * y[k];
            sxy += weight * x[k] * y[k];
          }
        const c1 = 0.01 ** 2;
        const c2 = 0.03 ** 2;
        const vx = sxx - mx * mx;
        const vy = syy - my * my;
        const cov = sxy - mx * my;
        out.push(((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2)));
      }
  return out;
}

describe("pointwise losses", () => {
  it("mse and l1 are the means of squared and absolute differences", () => {
    const r = evaluate({ a: [2, 2], b: [2, 2] }, { a: [1, 2, 3, 4], b: [0, 4, 3, 1] }, ({ a, b }) => ({
      mse: mse(a, b),
      l1: l1(a, b),
    }));
    expect(r.mse[0]).toBeCloseTo((1 + 4 + 0 + 9) / 4, 12);
    expect(r.l1[0]).toBeCloseTo((1 + 2 + 0 + 3) / 4, 12);
  });

  it("bceWithLogits equals max(x,0) − x·y + log(1 + exp(−|x|)) averaged", () => {
    const x = [-3, -0.5, 0, 0.7, 4, 2];
    const y = [0, 1, 0.5, 1, 0, 0.25];
    const r = evaluate({ x: [6], y: [6] }, { x, y }, ({ x, y }) => ({ loss: bceWithLogits(x, y) }));
    const expected =
      x.reduce((a, v, i) => a + Math.max(v, 0) - v * y[i] + Math.log(1 + Math.exp(-Math.abs(v))), 0) / 6;
    expect(r.loss[0]).toBeCloseTo(expected, 12);
    const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
    const crossEntropy =
      x.reduce((a, v, i) => a - y[i] * Math.log(sigmoid(v)) - (1 - y[i]) * Math.log(1 - sigmoid(v)), 0) / 6;
    expect(r.loss[0]).toBeCloseTo(crossEntropy, 10);
  });

  it("bceWithLogits is finite and exact for |x| = 100 on ONNX Runtime (float32), gradient included", async () => {
    const { graph, result } = T.trace(() => {
      const x = T.input("x", [4]);
      const y = T.input("y", [4]);
      const loss = bceWithLogits(x, y);
      return { loss, dx: T.grad(loss, [x])[0] };
    });
    const compiled = await T.CompiledGraph.create(graph, result, { threads: 1 });
    const out = await compiled.run({
      x: Float32Array.from([100, -100, 100, -100]),
      y: Float32Array.from([0, 1, 1, 0]),
    });
    await compiled.release();
    expect(out.loss[0]).toBeCloseTo(50, 4);
    expect(Array.from(out.dx as Float32Array).every(Number.isFinite)).toBe(true);
    expectClose(out.dx as Float32Array, [0.25, -0.25, 0, 0], 1e-6);
  });

  it("attention entropy is 0 for one-hot rows and log N for uniform rows", () => {
    const r = evaluate({ w: [2, 4] }, { w: [0, 1, 0, 0, 0.25, 0.25, 0.25, 0.25] }, ({ w }) => ({
      rows: T.neg(T.sum(T.mul(w, T.log(T.add(w, 1e-12))), -1)),
      entropy: attentionEntropy(w),
    }));
    expect(Math.abs(r.rows[0])).toBeLessThan(1e-11);
    expect(r.rows[1]).toBeCloseTo(Math.log(4), 10);
    expect(r.entropy[0]).toBeCloseTo(Math.log(4) / 2, 10);
  });
});

describe("SSIM", () => {
  const shape = [1, 2, 7, 8];
  const size = 112;
  const image = randomValues(20, size).map((v) => 0.5 + 0.4 * v);
  const noise = (scale: number) => {
    const rng = new Random(21);
    return image.map((v) => v + scale * rng.normal());
  };

  it("an image against itself has SSIM 1 everywhere and loss 0; the map has the input size", () => {
    const traced = traceModel(undefined, { x: shape }, ({ x }) => ({
      map: ssimMap(x, x),
      loss: ssimLoss(x, x),
    }));
    expect(traced.outputs.map.shape).toEqual(shape);
    const r = runReference(traced, undefined, { x: image });
    for (const v of r.map) expect(v).toBeCloseTo(1, 12);
    expect(Math.abs(r.loss[0])).toBeLessThan(1e-12);
  });

  it("decreases as noise grows", () => {
    const values = [0.02, 0.1, 0.3].map((scale) => {
      const r = evaluate({ x: shape, y: shape }, { x: image, y: noise(scale) }, ({ x, y }) => ({
        loss: ssimLoss(x, y),
      }));
      return 1 - r.loss[0];
    });
    expect(values[0]).toBeLessThan(1);
    expect(values[1]).toBeLessThan(values[0]);
    expect(values[2]).toBeLessThan(values[1]);
  });

  it("equals a direct float64 computation with a 2-D window and reflect borders", () => {
    const other = noise(0.1);
    const r = evaluate({ x: shape, y: shape }, { x: image, y: other }, ({ x, y }) => ({
      map: ssimMap(x, y),
    }));
    expectClose(r.map, directSsim(image, other, shape), 1e-10);
  });

  it("runs on ONNX Runtime with the reference's values and a finite gradient", async () => {
    const other = Float32Array.from(noise(0.1));
    const x32 = Float32Array.from(image);
    const { graph, result } = T.trace(() => {
      const x = T.input("x", shape);
      const y = T.input("y", shape);
      const loss = ssimLoss(x, y);
      return { loss, dy: T.grad(loss, [y])[0] };
    });
    const expected = T.evaluateReference(graph, { x: x32, y: other }, [result.loss, result.dy]);
    const compiled = await T.CompiledGraph.create(graph, result, { threads: 1 });
    const out = await compiled.run({ x: x32, y: other });
    await compiled.release();
    expect(out.loss[0]).toBeCloseTo(expected[0].data[0], 4);
    expectClose(out.dy as Float32Array, expected[1].data, 1e-3);
  });
});
