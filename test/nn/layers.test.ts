import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/index.js";
import { Module, type Tensor } from "../../src/engine/index.js";
import { fans, xavierUniform } from "../../src/nn/init.js";
import {
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  dropout,
  dropoutMask,
  LayerNorm,
  Linear,
} from "../../src/nn/layers.js";
import { Random } from "../../src/util/random.js";
import {
  expectClose,
  forwardReference,
  naiveConv2d,
  randomValues,
  runReference,
  stateFeeds,
  traceModel,
} from "./helpers.js";

function withinBound(values: Float32Array, bound: number): boolean {
  return values.every((v) => v >= -bound && v < bound);
}

describe("initialisation (PyTorch defaults)", () => {
  it("Conv2d(3→8, k3) weights and bias lie within ±1/√27", () => {
    const conv = new Conv2d(new Random(1), { in: 3, out: 8, kernel: 3 });
    const bound = 1 / Math.sqrt(27);
    expect(conv.weight.shape).toEqual([8, 3, 3, 3]);
    expect(withinBound(conv.weight.value, bound)).toBe(true);
    expect(withinBound(conv.bias!.value, bound)).toBe(true);
    expect(Math.max(...conv.weight.value.map(Math.abs))).toBeGreaterThan(0.8 * bound);
  });

  it("weights are roughly uniform: mean 0, variance b²/3, even quartiles", () => {
    const conv = new Conv2d(new Random(2), { in: 3, out: 128, kernel: 3 });
    const bound = 1 / Math.sqrt(27);
    const values = Array.from(conv.weight.value);
    const mean = values.reduce((a, v) => a + v, 0) / values.length;
    const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.05 * bound);
    expect(variance / (bound ** 2 / 3)).toBeGreaterThan(0.93);
    expect(variance / (bound ** 2 / 3)).toBeLessThan(1.07);
    const bins = [0, 0, 0, 0];
    for (const v of values) bins[Math.min(3, Math.floor(((v + bound) / (2 * bound)) * 4))]++;
    for (const count of bins) expect(Math.abs(count / values.length - 0.25)).toBeLessThan(0.03);
  });

  it("fan_in follows PyTorch for Linear, grouped Conv2d and ConvTranspose2d (weight dim 1 · k·k)", () => {
    const linear = new Linear(new Random(3), { in: 20, out: 5 });
    expect(withinBound(linear.weight.value, 1 / Math.sqrt(20))).toBe(true);
    const grouped = new Conv2d(new Random(3), { in: 8, out: 4, kernel: 3, groups: 2 });
    expect(grouped.weight.shape).toEqual([4, 4, 3, 3]);
    expect(withinBound(grouped.weight.value, 1 / Math.sqrt(36))).toBe(true);
    const transposed = new ConvTranspose2d(new Random(3), { in: 4, out: 6, kernel: 3 });
    expect(transposed.weight.shape).toEqual([4, 6, 3, 3]);
    expect(fans(transposed.weight.shape).fanIn).toBe(54);
    expect(withinBound(transposed.weight.value, 1 / Math.sqrt(54))).toBe(true);
    expect(Math.max(...transposed.weight.value.map(Math.abs))).toBeGreaterThan(0.8 / Math.sqrt(54));
  });

  it("Xavier uniform bound is √(6 / (fan_in + fan_out)); the same seed gives the same values", () => {
    const values = xavierUniform(new Random(4), [12, 4]);
    const bound = Math.sqrt(6 / 16);
    expect(withinBound(values, bound)).toBe(true);
    expect(Math.max(...values.map(Math.abs))).toBeGreaterThan(0.8 * bound);
    const a = new Conv2d(new Random(9), { in: 2, out: 2, kernel: 3 });
    const b = new Conv2d(new Random(9), { in: 2, out: 2, kernel: 3 });
    expect(Array.from(a.weight.value)).toEqual(Array.from(b.weight.value));
  });

  it("norm layers start at γ = 1, β = 0, running mean 0, running var 1; no bias when asked", () => {
    const bn = new BatchNorm2d(3);
    expect(bn.namedState().map(([n]) => n)).toEqual(["weight", "bias", "running_mean", "running_var"]);
    expect(Array.from(bn.weight.value)).toEqual([1, 1, 1]);
    expect(Array.from(bn.runningVar.value)).toEqual([1, 1, 1]);
    expect(bn.namedBuffers().length).toBe(2);
    expect(new Conv2d(new Random(1), { in: 1, out: 1, kernel: 1, bias: false }).namedState().length).toBe(1);
  });
});

describe("layer outputs", () => {
  it("Linear equals x·Wᵀ + b", () => {
    const linear = new Linear(new Random(5), { in: 3, out: 2 });
    const x = [1, 2, 3, -1, 0, 0.5];
    const { y, shape } = forwardReference(linear, [2, 3], x, (t) => linear.forward(t));
    expect(shape).toEqual([2, 2]);
    const w = linear.weight.value;
    const b = linear.bias!.value;
    const expected: number[] = [];
    for (let r = 0; r < 2; r++)
      for (let o = 0; o < 2; o++) {
        let acc = b[o];
        for (let i = 0; i < 3; i++) acc += x[r * 3 + i] * w[o * 3 + i];
        expected.push(acc);
      }
    expectClose(y, expected, 1e-6);
  });

  const convCases: Array<{
    label: string;
    options: ConstructorParameters<typeof Conv2d>[1];
    pads: [number, number, number, number];
    size: [number, number];
  }> = [
    {
      label: "stride 1, padding 1",
      options: { in: 2, out: 3, kernel: 3, padding: 1 },
      pads: [1, 1, 1, 1],
      size: [5, 5],
    },
    {
      label: "stride 2, 'same' (extra pixel at the end)",
      options: { in: 2, out: 3, kernel: 3, stride: 2, padding: "same" },
      pads: [0, 0, 1, 1],
      size: [6, 6],
    },
    {
      label: "explicit asymmetric padding",
      options: { in: 2, out: 2, kernel: [2, 3], padding: [0, 1, 1, 2] },
      pads: [0, 1, 1, 2],
      size: [4, 5],
    },
    {
      label: "dilation 2",
      options: { in: 2, out: 2, kernel: 3, dilation: 2, padding: 2 },
      pads: [2, 2, 2, 2],
      size: [6, 6],
    },
    {
      label: "groups 2, no bias",
      options: { in: 4, out: 6, kernel: 3, groups: 2, bias: false },
      pads: [0, 0, 0, 0],
      size: [5, 4],
    },
  ];

  for (const { label, options, pads, size } of convCases) {
    it(`Conv2d equals a direct convolution (${label})`, () => {
      const conv = new Conv2d(new Random(6), options);
      const xShape = [2, options.in, ...size];
      const x = randomValues(
        7,
        xShape.reduce((a, d) => a * d, 1),
      );
      const { y, shape } = forwardReference(conv, xShape, x, (t) => conv.forward(t));
      const stride = typeof options.stride === "number" ? options.stride : 1;
      const dilation = typeof options.dilation === "number" ? options.dilation : 1;
      const expected = naiveConv2d(
        x,
        xShape,
        conv.weight.value,
        conv.weight.shape,
        conv.bias?.value,
        stride,
        pads,
        dilation,
        options.groups ?? 1,
      );
      expect(shape).toEqual(expected.shape);
      expectClose(y, expected.data, 1e-6);
    });
  }

  it("ConvTranspose2d has output (H−1)·s − 2p + k + output_padding and equals a direct scatter", () => {
    const conv = new ConvTranspose2d(new Random(8), {
      in: 2,
      out: 3,
      kernel: 3,
      stride: 2,
      padding: 1,
      outputPadding: 1,
    });
    const xShape = [1, 2, 3, 4];
    const x = randomValues(9, 24);
    const { y, shape } = forwardReference(conv, xShape, x, (t) => conv.forward(t));
    expect(shape).toEqual([1, 3, 6, 8]);
    const w = conv.weight.value;
    const expected = new Array<number>(3 * 6 * 8).fill(0);
    for (let oc = 0; oc < 3; oc++) for (let i = 0; i < 48; i++) expected[oc * 48 + i] = conv.bias!.value[oc];
    for (let ic = 0; ic < 2; ic++)
      for (let iy = 0; iy < 3; iy++)
        for (let ix = 0; ix < 4; ix++)
          for (let oc = 0; oc < 3; oc++)
            for (let ky = 0; ky < 3; ky++)
              for (let kx = 0; kx < 3; kx++) {
                const oy = iy * 2 - 1 + ky;
                const ox = ix * 2 - 1 + kx;
                if (oy < 0 || ox < 0 || oy >= 6 || ox >= 8) continue;
                expected[(oc * 6 + oy) * 8 + ox] +=
                  x[(ic * 3 + iy) * 4 + ix] * w[((ic * 3 + oc) * 3 + ky) * 3 + kx];
              }
    expectClose(y, expected, 1e-6);
  });

  it("LayerNorm normalises the last axis to mean 0, variance 1", () => {
    const norm = new LayerNorm(6);
    const x = randomValues(10, 18).map((v, i) => v * (i + 1) + i);
    const { y } = forwardReference(norm, [3, 6], x, (t) => norm.forward(t));
    for (let r = 0; r < 3; r++) {
      const row = y.slice(r * 6, r * 6 + 6);
      const mean = row.reduce((a, v) => a + v, 0) / 6;
      const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / 6;
      expect(Math.abs(mean)).toBeLessThan(1e-9);
      expect(variance).toBeCloseTo(1, 4);
    }
  });

  it("dropout scales kept entries by 1/(1 − p) and zeroes dropped ones", () => {
    const mask = dropoutMask(new Random(11), [1000], 0.3);
    const kept = mask.reduce((a, v) => a + v, 0) / 1000;
    expect(Math.abs(kept - 0.7)).toBeLessThan(0.05);
    const traced = traceModel(undefined, { x: [4], m: [4] }, ({ x, m }) => ({ y: dropout(x, m, 0.5) }));
    const { y } = runReference(traced, undefined, { x: [1, 2, 3, 4], m: [1, 0, 1, 0] });
    expect(y).toEqual([2, 0, 6, 0]);
  });
});

describe("batch normalisation", () => {
  const xShape = [3, 2, 2, 2];
  const x = randomValues(12, 24).map((v, i) => v * 3 + (i % 8 < 4 ? 1 : -2));

  function channelStats(values: ArrayLike<number>, shape: readonly number[]) {
    const [n, c, h, w] = shape;
    return Array.from({ length: c }, (_, ch) => {
      const items: number[] = [];
      for (let b = 0; b < n; b++)
        for (let i = 0; i < h * w; i++) items.push(values[(b * c + ch) * h * w + i]);
      const mean = items.reduce((a, v) => a + v, 0) / items.length;
      const biased = items.reduce((a, v) => a + (v - mean) ** 2, 0) / items.length;
      return { mean, biased, unbiased: (biased * items.length) / (items.length - 1) };
    });
  }

  it("train mode normalises per channel and records running stats with the unbiased variance", () => {
    const bn = new BatchNorm2d(2);
    const traced = traceModel(bn, { x: xShape }, ({ x }) => ({ y: bn.forward(x) }));
    const updates = traced.binding.updates;
    const outputs = {
      ...traced.outputs,
      mean: updates.get(bn.runningMean)!,
      var: updates.get(bn.runningVar)!,
    };
    const result = runReference({ ...traced, outputs }, bn, { x });
    for (const { mean, biased } of channelStats(result.y, xShape)) {
      expect(Math.abs(mean)).toBeLessThan(1e-9);
      expect(biased).toBeCloseTo(1, 4);
    }
    const stats = channelStats(x, xShape);
    expectClose(
      result.mean,
      stats.map((s) => 0.9 * 0 + 0.1 * s.mean),
      1e-6,
    );
    expectClose(
      result.var,
      stats.map((s) => 0.9 * 1 + 0.1 * s.unbiased),
      1e-6,
    );
  });

  it("eval mode uses the running statistics and records no update", () => {
    const bn = new BatchNorm2d(2, { eps: 0 });
    bn.runningMean.value.set([0.5, -1]);
    bn.runningVar.value.set([4, 0.25]);
    bn.weight.value.set([2, 1]);
    bn.bias.value.set([0, 3]);
    bn.eval();
    const traced = traceModel(bn, { x: xShape }, ({ x }) => ({ y: bn.forward(x) }));
    expect(traced.binding.updates.size).toBe(0);
    const { y } = runReference(traced, bn, { x });
    const expected = Array.from(x, (v, i) => {
      const ch = Math.floor(i / 4) % 2;
      return ch === 0 ? ((v - 0.5) / 2) * 2 : (v + 1) / 0.5 + 3;
    });
    expectClose(y, expected, 1e-6);
  });

  it("forceBatchStats normalises with batch statistics in eval mode without updating the running stats", () => {
    const bn = new BatchNorm2d(2, { forceBatchStats: true });
    bn.runningMean.value.set([10, 10]);
    bn.eval();
    const traced = traceModel(bn, { x: xShape }, ({ x }) => ({ y: bn.forward(x) }));
    expect(traced.binding.updates.size).toBe(0);
    const { y } = runReference(traced, bn, { x });
    for (const { mean, biased } of channelStats(y, xShape)) {
      expect(Math.abs(mean)).toBeLessThan(1e-9);
      expect(biased).toBeCloseTo(1, 4);
    }
  });

  it("BatchNorm1d normalises [N, C] over the batch", () => {
    const bn = new BatchNorm1d(3);
    const input = [1, 2, 3, 3, 2, 0, 5, 2, -3, -1, 2, 4];
    const { y } = forwardReference(bn, [4, 3], input, (t) => bn.forward(t));
    for (let c = 0; c < 3; c++) {
      const column = [0, 1, 2, 3].map((r) => y[r * 3 + c]);
      const spread = column.reduce((a, v) => a + v * v, 0);
      expect(Math.abs(column.reduce((a, v) => a + v, 0))).toBeLessThan(1e-9);
      // A constant column stays at β = 0; the others have biased variance 1.
      expect(c === 1 ? spread : spread / 4).toBeCloseTo(c === 1 ? 0 : 1, 3);
    }
  });
});

describe("errors name the layer", () => {
  class Encoder extends Module {
    readonly conv1 = this.child("conv1", new Conv2d(new Random(1), { in: 3, out: 4, kernel: 3 }));
    readonly bn1 = this.child("bn1", new BatchNorm2d(4));
    forward(x: Tensor): Tensor {
      return this.bn1.forward(this.conv1.forward(x));
    }
  }
  class Net extends Module {
    readonly encoder = this.child("encoder", new Encoder());
  }

  it("a ShapeError from a convolution names the dotted layer path", () => {
    const net = new Net();
    expect(() => traceModel(net, { x: [1, 2, 8, 8] }, ({ x }) => ({ y: net.encoder.forward(x) }))).toThrow(
      /Conv in encoder\.conv1/,
    );
    expect(() => traceModel(net, { x: [1, 2, 8, 8] }, ({ x }) => ({ y: net.encoder.forward(x) }))).toThrow(
      T.ShapeError,
    );
  });

  it("a batch norm with the wrong channel count and an explicitly named layer are reported", () => {
    const bn = new BatchNorm2d(4);
    expect(() => traceModel(bn, { x: [2, 3, 4, 4] }, ({ x }) => ({ y: bn.forward(x) }))).toThrow(
      /BatchNorm2d/,
    );
    const named = new Linear(new Random(1), { in: 3, out: 2, name: "head.fc" });
    expect(() => traceModel(named, { x: [2, 4] }, ({ x }) => ({ y: named.forward(x) }))).toThrow(
      /in head\.fc/,
    );
  });
});

describe("compiled on ONNX Runtime", () => {
  it("Conv2d → BatchNorm2d (train) → LeakyReLU matches the reference executor", async () => {
    const conv = new Conv2d(new Random(13), { in: 2, out: 4, kernel: 3, stride: 2, padding: "same" });
    const bn = new BatchNorm2d(4);
    class Block extends Module {
      readonly conv = this.child("conv", conv);
      readonly bn = this.child("bn", bn);
    }
    const block = new Block();
    const traced = traceModel(block, { x: [2, 2, 7, 7] }, ({ x }) => ({
      y: T.leakyRelu(bn.forward(conv.forward(x)), 0.2),
    }));
    const outputs = { y: traced.outputs.y, runningVar: traced.binding.updates.get(bn.runningVar)! };
    const x = randomValues(14, 2 * 2 * 7 * 7);
    const expected = runReference({ ...traced, outputs }, block, { x });
    const compiled = await T.CompiledGraph.create(traced.graph, outputs, { threads: 1 });
    const actual = await compiled.run({ ...stateFeeds(block), x });
    await compiled.release();
    expectClose(actual.y as Float32Array, expected.y, 1e-4);
    expectClose(actual.runningVar as Float32Array, expected.runningVar, 1e-4);
  });
});

describe("gradients through the composite layers", () => {
  it("BatchNorm2d (train) and LayerNorm gradients match central finite differences", () => {
    const bn = new BatchNorm2d(2);
    const norm = new LayerNorm(3);
    const xShape = [2, 2, 2, 3];
    const x = randomValues(15, 24).map((v, i) => v + (i % 3));
    const probe = randomValues(16, 24);
    const lossOf = (t: Tensor, r: Tensor) => T.sum(T.mul(norm.forward(bn.forward(t)), r));
    class Pair extends Module {
      readonly bn = this.child("bn", bn);
      readonly norm = this.child("norm", norm);
    }
    const pairModule = new Pair();
    const traced = traceModel(pairModule, { x: xShape, r: xShape }, ({ x, r }) => {
      const loss = lossOf(x, r);
      return { loss, dx: T.grad(loss, [x])[0] };
    });
    const { dx } = runReference(traced, pairModule, { x, r: probe });
    const h = 1e-6;
    for (const i of [0, 5, 11, 17, 23]) {
      const plus = Float64Array.from(x);
      const minus = Float64Array.from(x);
      plus[i] += h;
      minus[i] -= h;
      const up = runReference(traced, pairModule, { x: plus, r: probe }).loss[0];
      const down = runReference(traced, pairModule, { x: minus, r: probe }).loss[0];
      expect(dx[i]).toBeCloseTo((up - down) / (2 * h), 5);
    }
  });
});
