/** Shared test helpers for src/nn: trace a module's forward and evaluate it with the reference executor. */

import type { Module, Tensor } from "../../src/engine/index.js";
import * as T from "../../src/engine/index.js";
import { Random } from "../../src/util/random.js";

export interface Traced {
  graph: T.Graph;
  outputs: Record<string, Tensor>;
  binding: T.Binding;
}

/** Trace `build(inputs)` with `model` bound; `inputs` are float32 graph inputs of the given shapes. */
export function traceModel(
  model: Module | undefined,
  inputShapes: Record<string, readonly number[]>,
  build: (inputs: Record<string, Tensor>) => Record<string, Tensor>,
): Traced {
  const { graph, result } = T.trace(() => {
    const binding = model ? T.bind(model) : undefined;
    const inputs: Record<string, Tensor> = {};
    for (const [name, shape] of Object.entries(inputShapes)) inputs[name] = T.input(name, shape);
    return { outputs: build(inputs), binding };
  });
  return { graph, outputs: result.outputs, binding: result.binding ?? new T.Binding(graph, new Map()) };
}

/** Feeds for every parameter and buffer of `model`, by path. */
export function stateFeeds(model: Module | undefined): Record<string, Float32Array> {
  return Object.fromEntries((model?.namedState() ?? []).map(([name, p]) => [name, p.value]));
}

/** Evaluate every output of a traced graph in float64; returns plain arrays by output name. */
export function runReference(
  traced: Traced,
  model: Module | undefined,
  feeds: Record<string, ArrayLike<number>>,
): Record<string, number[]> {
  const names = Object.keys(traced.outputs);
  const values = T.evaluateReference(
    traced.graph,
    { ...stateFeeds(model), ...feeds },
    names.map((n) => traced.outputs[n]),
  );
  return Object.fromEntries(names.map((n, i) => [n, Array.from(values[i].data)]));
}

/** Evaluate a module's single-input forward with the reference executor. */
export function forwardReference(
  model: Module,
  shape: readonly number[],
  x: ArrayLike<number>,
  forward: (x: Tensor) => Tensor,
): { y: number[]; shape: readonly number[] } {
  const traced = traceModel(model, { x: shape }, ({ x }) => ({ y: forward(x) }));
  return { y: runReference(traced, model, { x }).y, shape: traced.outputs.y.shape };
}

/** Seeded random values in [−1, 1). */
export function randomValues(seed: number, size: number): Float32Array {
  const rng = new Random(seed);
  return Float32Array.from({ length: size }, () => rng.range(-1, 1));
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  if (actual.length !== expected.length)
    throw new Error(`length ${actual.length} differs from expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= tolerance * Math.max(1, Math.abs(expected[i]))))
      throw new Error(`index ${i}: ${actual[i]} differs from expected ${expected[i]} by ${diff}`);
  }
}

/** Direct NCHW convolution in float64 (stride, asymmetric pads [top, left, bottom, right], dilation, groups). */
export function naiveConv2d(
  x: ArrayLike<number>,
  xShape: readonly number[],
  w: ArrayLike<number>,
  wShape: readonly number[],
  bias: ArrayLike<number> | undefined,
  stride: number,
  pads: readonly [number, number, number, number],
  dilation = 1,
  groups = 1,
): { data: number[]; shape: number[] } {
  const [n, c, h, wd] = xShape;
  const [o, cg, kh, kw] = wShape;
  const oh = Math.floor((h + pads[0] + pads[2] - dilation * (kh - 1) - 1) / stride) + 1;
  const ow = Math.floor((wd + pads[1] + pads[3] - dilation * (kw - 1) - 1) / stride) + 1;
  const outPerGroup = o / groups;
  const data: number[] = [];
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++)
      for (let y = 0; y < oh; y++)
        for (let xo = 0; xo < ow; xo++) {
          let acc = bias ? bias[oc] : 0;
          const g = Math.floor(oc / outPerGroup);
          for (let ic = 0; ic < cg; ic++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const iy = y * stride - pads[0] + i * dilation;
                const ix = xo * stride - pads[1] + j * dilation;
                if (iy < 0 || ix < 0 || iy >= h || ix >= wd) continue;
                acc += x[((b * c + g * cg + ic) * h + iy) * wd + ix] * w[((oc * cg + ic) * kh + i) * kw + j];
              }
          data.push(acc);
        }
  return { data, shape: [n, o, oh, ow] };
}
