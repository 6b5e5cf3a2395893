/**
 * Test helpers for the engine: seeded inputs, "ONNX Runtime equals the float64 reference" for a traced
 * case, and "reverse-mode gradient equals central finite differences" on the reference executor.
 *
 * A case is a list of feeds (shape, values, dtype) and a builder that receives one graph input per
 * feed and returns the tensors to check. Every op recorded by a case is added to `seenOps`, so a
 * suite can assert at its end that it exercised every primitive (or every derivative rule).
 */
import { expect } from "vitest";
import * as T from "../../src/engine/api.js";
import { grad } from "../../src/engine/autodiff/grad.js";
import { type DType, type Tensor, trace } from "../../src/engine/ir.js";
import type { NDArray } from "../../src/engine/ndarray.js";
import { evaluateReference } from "../../src/engine/reference.js";
import { CompiledGraph, type HostArray } from "../../src/engine/runtime.js";
import { Random } from "../../src/util/random.js";

export interface Feed {
  shape: readonly number[];
  data: ArrayLike<number>;
  dtype?: DType;
}

export type Builder = (...xs: Tensor[]) => Tensor | Tensor[];

/** Ops recorded by the cases run so far in this test file (every node, gradient graphs included). */
export const seenOps = new Set<string>();

/**
 * Ops whose derivative rule was checked, by the cases run so far in this test file: against central
 * finite differences on the reference executor (`vjpMatches`), and as a gradient graph run on ONNX
 * Runtime against the reference (`ortGradMatches`). Only the nodes up to the loss count (the ops being
 * differentiated), never the nodes of the gradient graph itself.
 */
export const finiteDifferenceCheckedOps = new Set<string>();
export const ortGradientCheckedOps = new Set<string>();

const size = (shape: readonly number[]) => shape.reduce((a, d) => a * d, 1);

/** A float32 feed of standard normal values times `scale`. */
export function randn(seed: number, shape: readonly number[], scale = 1): Feed {
  const rng = new Random(seed);
  return { shape, data: Array.from({ length: size(shape) }, () => rng.normal() * scale) };
}

/** A float32 feed uniform in [low, high). */
export function uniform(seed: number, shape: readonly number[], low: number, high: number): Feed {
  const rng = new Random(seed);
  return { shape, data: Array.from({ length: size(shape) }, () => rng.range(low, high)) };
}

/** A float32 feed with |value| in [0.2, 1.2) and a random sign: away from the kinks at 0. */
export function awayFromZero(seed: number, shape: readonly number[]): Feed {
  const rng = new Random(seed);
  return {
    shape,
    data: Array.from({ length: size(shape) }, () => (rng.uniform() < 0.5 ? -1 : 1) * rng.range(0.2, 1.2)),
  };
}

/** A float32 feed of distinct values (a shuffled, spaced ramp): no ties for max, topK or pooling. */
export function distinct(seed: number, shape: readonly number[], spacing = 0.1): Feed {
  const rng = new Random(seed);
  const n = size(shape);
  const data = Array.from({ length: n }, (_, i) => (i - n / 2) * spacing);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [data[i], data[j]] = [data[j], data[i]];
  }
  return { shape, data };
}

export function feed(shape: readonly number[], data: ArrayLike<number>, dtype: DType = "float32"): Feed {
  return { shape, data, dtype };
}

function toHost(f: Feed): HostArray {
  const dtype = f.dtype ?? "float32";
  if (dtype === "float32") return Float32Array.from(f.data);
  if (dtype === "int64") return BigInt64Array.from(Array.from(f.data), (v) => BigInt(v));
  return Uint8Array.from(f.data);
}

function fromHost(a: HostArray): number[] {
  return a instanceof BigInt64Array ? Array.from(a, Number) : Array.from(a);
}

function traceCase(feeds: readonly Feed[], build: Builder) {
  return trace(() => {
    const xs = feeds.map((f, i) => T.input(`x${i}`, f.shape, f.dtype ?? "float32"));
    const out = build(...xs);
    return { xs, outputs: Array.isArray(out) ? out : [out] };
  });
}

function recordOps(ops: Iterable<{ op: string }>): void {
  for (const node of ops) seenOps.add(node.op);
}

function feedRecord<V>(feeds: readonly Feed[], convert: (f: Feed) => V): Record<string, V> {
  return Object.fromEntries(feeds.map((f, i) => [`x${i}`, convert(f)]));
}

/**
 * Compile the case to ONNX, run it on ONNX Runtime and on the reference executor (fed the same
 * float32-rounded inputs) and assert that every output agrees: exactly for int64/bool outputs, within
 * `rtol` · (|reference| + max |reference|) for float32 outputs. Returns the reference outputs.
 */
export async function forwardMatches(
  feeds: readonly Feed[],
  build: Builder,
  rtol = 1e-5,
): Promise<NDArray[]> {
  const { graph, result } = traceCase(feeds, build);
  recordOps(graph.nodes);
  const named = Object.fromEntries(result.outputs.map((t, i) => [`y${i}`, t]));
  const compiled = await CompiledGraph.create(graph, named, { threads: 1 });
  try {
    const got = await compiled.run(feedRecord(feeds, toHost));
    const reference = evaluateReference(
      graph,
      feedRecord(feeds, (f) => ((f.dtype ?? "float32") === "float32" ? Float32Array.from(f.data) : f.data)),
      result.outputs,
    );
    result.outputs.forEach((t, i) => {
      const ref = reference[i];
      const actual = fromHost(got[`y${i}`]);
      expect(ref.shape, `y${i} shape`).toEqual([...t.shape]);
      expect(actual.length, `y${i} size`).toBe(ref.data.length);
      if (t.dtype !== "float32") {
        expect(actual, `y${i} (${t.dtype})`).toEqual(Array.from(ref.data));
        return;
      }
      const scale = ref.data.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      for (let j = 0; j < actual.length; j++) {
        const tol = rtol * (Math.abs(ref.data[j]) + scale) + 1e-30;
        if (!(Math.abs(actual[j] - ref.data[j]) <= tol)) {
          expect.fail(
            `y${i}[${j}]: ONNX Runtime ${actual[j]} vs reference ${ref.data[j]} (tolerance ${tol})`,
          );
        }
      }
    });
    return reference;
  } finally {
    await compiled.release();
  }
}

/** Robust relative error of two vectors: |a − b| / max(1e-8, |a| + |b|) with Euclidean norms. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    na += a[i] ** 2;
    nb += b[i] ** 2;
  }
  return Math.sqrt(diff) / Math.max(1e-8, Math.sqrt(na) + Math.sqrt(nb));
}

/** loss = Σ_k sum(y_k · R_k) with fixed random constants R_k (one per float output). */
function projectedLoss(outputs: readonly Tensor[], seed: number): Tensor {
  const rng = new Random(seed);
  const terms = outputs.map((y) => {
    const r = T.constant(
      Array.from({ length: y.size }, () => rng.normal()),
      y.shape,
    );
    return T.sum(T.mul(y, r));
  });
  return terms.reduce((a, b) => T.add(a, b));
}

export interface VjpOptions {
  /** Indices of the feeds to differentiate (default: every float32 feed). */
  wrt?: number[];
  h?: number;
  tol?: number;
  seed?: number;
}

/**
 * Assert that `grad` of loss = Σ sum(y · R) (evaluated by the float64 reference executor) equals the
 * central finite difference (f(x + h) − f(x − h)) / 2h of the same loss, per differentiated feed.
 * Feeds are used unrounded (float64). Returns the analytic gradients.
 */
export function vjpMatches(feeds: readonly Feed[], build: Builder, options: VjpOptions = {}): Float64Array[] {
  const h = options.h ?? 1e-6;
  const tol = options.tol ?? 1e-6;
  const wrt = options.wrt ?? feeds.flatMap((f, i) => ((f.dtype ?? "float32") === "float32" ? [i] : []));
  let forwardNodes = 0;
  const { graph, result } = trace(() => {
    const xs = feeds.map((f, i) => T.input(`x${i}`, f.shape, f.dtype ?? "float32"));
    const out = build(...xs);
    const loss = projectedLoss(Array.isArray(out) ? out : [out], options.seed ?? 7);
    forwardNodes = loss.graph.nodes.length;
    return {
      loss,
      grads: grad(
        loss,
        wrt.map((i) => xs[i]),
      ),
    };
  });
  recordOps(graph.nodes.slice(0, forwardNodes));
  for (const node of graph.nodes.slice(0, forwardNodes)) finiteDifferenceCheckedOps.add(node.op);
  const base = feeds.map((f) => Float64Array.from(f.data));
  const lossAt = (values: Float64Array[]) =>
    evaluateReference(
      graph,
      feedRecord(feeds, (f) => values[feeds.indexOf(f)]),
      [result.loss],
    )[0].data[0];
  const analytic = evaluateReference(
    graph,
    feedRecord(feeds, (f) => base[feeds.indexOf(f)]),
    result.grads,
  ).map((g) => g.data);
  let largest = 0;
  wrt.forEach((inputIndex, k) => {
    const x = base[inputIndex];
    const numeric = new Float64Array(x.length);
    for (let j = 0; j < x.length; j++) {
      const saved = x[j];
      x[j] = saved + h;
      const plus = lossAt(base);
      x[j] = saved - h;
      const minus = lossAt(base);
      x[j] = saved;
      numeric[j] = (plus - minus) / (2 * h);
    }
    const error = relativeError(analytic[k], numeric);
    expect(error, `gradient of x${inputIndex}: relative error ${error}`).toBeLessThanOrEqual(tol);
    largest = Math.max(largest, ...numeric.map(Math.abs));
  });
  expect(largest, "the gradients are not all zero").toBeGreaterThan(0);
  return analytic;
}

/**
 * Compile loss = Σ sum(y · R) together with its gradients and assert that ONNX Runtime's values equal
 * the reference executor's (float32 tolerance `rtol`).
 */
export async function ortGradMatches(
  feeds: readonly Feed[],
  build: Builder,
  rtol = 1e-4,
): Promise<NDArray[]> {
  const wrt = feeds.flatMap((f, i) => ((f.dtype ?? "float32") === "float32" ? [i] : []));
  return forwardMatches(
    feeds,
    (...xs) => {
      const out = build(...xs);
      const loss = projectedLoss(Array.isArray(out) ? out : [out], 7);
      for (const node of loss.graph.nodes) ortGradientCheckedOps.add(node.op);
      return [
        loss,
        ...grad(
          loss,
          wrt.map((i) => xs[i]),
        ),
      ];
    },
    rtol,
  );
}

export interface ConvCase {
  name: string;
  x: readonly number[];
  w: readonly number[];
  bias: boolean;
  options: T.ConvOptions;
}

/** Convolution geometries checked forward (ORT) and backward (finite differences). */
export const convCases: ConvCase[] = [
  { name: "3×3 same, bias, 7×9", x: [2, 3, 7, 9], w: [4, 3, 3, 3], bias: true, options: { padding: "same" } },
  { name: "stride 2 valid, 7×9", x: [1, 2, 7, 9], w: [3, 2, 3, 3], bias: false, options: { stride: 2 } },
  {
    name: "stride 2 explicit asymmetric pads, 5×5",
    x: [1, 2, 5, 5],
    w: [2, 2, 3, 2],
    bias: true,
    options: { stride: 2, padding: [1, 0, 2, 1] },
  },
  {
    name: "dilation 2, padding 2",
    x: [1, 2, 7, 9],
    w: [2, 2, 3, 3],
    bias: false,
    options: { dilation: 2, padding: 2 },
  },
  {
    name: "groups 2, stride 2 same",
    x: [2, 4, 5, 5],
    w: [6, 2, 3, 3],
    bias: true,
    options: { groups: 2, stride: 2, padding: "same" },
  },
  {
    name: "depthwise stride 2 padding 1, 7×9",
    x: [2, 3, 7, 9],
    w: [3, 1, 3, 3],
    bias: true,
    options: { groups: 3, stride: 2, padding: 1 },
  },
  {
    name: "depthwise multiplier 2",
    x: [1, 3, 5, 5],
    w: [6, 1, 3, 3],
    bias: false,
    options: { groups: 3, padding: "same" },
  },
  { name: "1×1 stride 2 on 7×9", x: [2, 3, 7, 9], w: [2, 3, 1, 1], bias: true, options: { stride: 2 } },
  {
    name: "4×4 stride 2 padding 1 on 7×9",
    x: [1, 2, 7, 9],
    w: [3, 2, 4, 4],
    bias: false,
    options: { stride: 2, padding: 1 },
  },
  {
    name: "4×4 stride 2 padding 1, more channels than output positions, batch 3",
    x: [3, 2, 4, 4],
    w: [6, 2, 4, 4],
    bias: false,
    options: { stride: 2, padding: 1 },
  },
  {
    name: "stride 2 dilation 2 same, 7×9",
    x: [1, 2, 7, 9],
    w: [2, 2, 3, 3],
    bias: true,
    options: { stride: 2, dilation: 2, padding: "same" },
  },
  {
    name: "rectangular stride (2, 1) and dilation (1, 2), groups 2",
    x: [2, 4, 7, 9],
    w: [2, 2, 2, 3],
    bias: true,
    options: { stride: [2, 1], dilation: [1, 2], padding: [0, 1, 1, 2], groups: 2 },
  },
];

export interface ConvTransposeCase {
  name: string;
  x: readonly number[];
  w: readonly number[];
  bias: boolean;
  options: T.ConvTransposeOptions;
}

/** Transposed-convolution geometries checked forward and backward. */
export const convTransposeCases: ConvTransposeCase[] = [
  { name: "stride 1, bias", x: [1, 3, 4, 5], w: [3, 2, 3, 3], bias: true, options: {} },
  {
    name: "4×4 stride 2 padding 1",
    x: [2, 4, 3, 4],
    w: [4, 2, 4, 4],
    bias: false,
    options: { stride: 2, padding: 1 },
  },
  {
    name: "3×3 stride 2 padding 1 output_padding 1",
    x: [1, 2, 3, 4],
    w: [2, 3, 3, 3],
    bias: true,
    options: { stride: 2, padding: 1, outputPadding: 1 },
  },
  {
    name: "asymmetric pads, stride 2",
    x: [1, 2, 3, 3],
    w: [2, 2, 3, 3],
    bias: false,
    options: { stride: 2, padding: [1, 0, 0, 2] },
  },
  {
    name: "4×4 stride 2 padding 1, more input channels than input positions, batch 3",
    x: [3, 6, 2, 2],
    w: [6, 2, 4, 4],
    bias: true,
    options: { stride: 2, padding: 1 },
  },
  { name: "dilation 2", x: [1, 2, 3, 4], w: [2, 2, 3, 3], bias: true, options: { dilation: 2, padding: 1 } },
  { name: "groups 2", x: [2, 4, 3, 3], w: [4, 3, 3, 3], bias: true, options: { groups: 2, stride: 2 } },
  {
    name: "depthwise stride 2 output_padding 1",
    x: [2, 3, 4, 4],
    w: [3, 1, 3, 3],
    bias: false,
    options: { groups: 3, stride: 2, padding: 1, outputPadding: 1 },
  },
  {
    name: "stride 3 output_padding (2, 1), rectangular kernel",
    x: [1, 2, 2, 3],
    w: [2, 2, 2, 3],
    bias: true,
    options: { stride: 3, outputPadding: [2, 1] },
  },
  {
    name: "stride 2 dilation 2 output_padding 1",
    x: [1, 2, 3, 4],
    w: [2, 2, 3, 3],
    bias: false,
    options: { stride: 2, dilation: 2, padding: 1, outputPadding: 1 },
  },
  {
    name: "rectangular stride (1, 2), dilation (2, 1), groups 2",
    x: [2, 4, 3, 4],
    w: [4, 1, 3, 2],
    bias: true,
    options: { stride: [1, 2], dilation: [2, 1], padding: [1, 0, 0, 1], outputPadding: [0, 1], groups: 2 },
  },
];
