/**
 * The symbolic tensor API that models are written in. Every function records primitive ops into the
 * graph being traced (see ir.ts) after checking shapes; composite ops (gelu, logSumExp, resize, average
 * pooling) are built from primitives so their gradients follow from the rule table without rules of
 * their own. Layers with parameters (batch norm, layer norm, convolutions) live in src/nn.
 */
import { ShapeError } from "./errors.js";
import { type Attrs, currentGraph, type DType, type Tensor } from "./ir.js";
import { ndarray, sizeOf } from "./ndarray.js";
import { onnxDtypeCode } from "./ops/elementwise.js";
import { opSpec } from "./ops/registry.js";
import { normAxis } from "./ops/spec.js";

export type { Tensor };
export type Operand = Tensor | number;

/** Record one primitive op in the current graph; returns all its outputs. */
export function emit(op: string, inputs: Tensor[], attrs: Attrs = {}): Tensor[] {
  const graph = inputs[0]?.graph ?? currentGraph();
  return graph.addNode(op, inputs, attrs, opSpec(op).infer);
}

function emit1(op: string, inputs: Tensor[], attrs: Attrs = {}): Tensor {
  return emit(op, inputs, attrs)[0];
}

// ---------------------------------------------------------------- constants and inputs

export function constant(
  values: ArrayLike<number>,
  shape: readonly number[],
  dtype: DType = "float32",
): Tensor {
  return currentGraph().constant(ndarray(dtype, shape, values));
}

export function scalar(value: number, dtype: DType = "float32"): Tensor {
  return constant([value], [], dtype);
}

export function ints(values: readonly number[]): Tensor {
  return constant(values, [values.length], "int64");
}

export function full(shape: readonly number[], value: number, dtype: DType = "float32"): Tensor {
  return expand(scalar(value, dtype), shape);
}

export function zeros(shape: readonly number[]): Tensor {
  return full(shape, 0);
}

export function zerosLike(x: Tensor): Tensor {
  return full(x.shape, 0, x.dtype);
}

/** A named graph input (a feed). */
export function input(name: string, shape: readonly number[], dtype: DType = "float32"): Tensor {
  return currentGraph().input(name, dtype, shape);
}

function lift(x: Operand, like: Tensor): Tensor {
  return typeof x === "number" ? scalar(x, like.dtype) : x;
}

function binary(op: string, a: Operand, b: Operand): Tensor {
  if (typeof a === "number" && typeof b === "number")
    throw new Error(`${op}: at least one operand must be a tensor`);
  const ta = typeof a === "number" ? lift(a, b as Tensor) : a;
  const tb = typeof b === "number" ? lift(b, ta) : b;
  return emit1(op, [ta, tb]);
}

// ---------------------------------------------------------------- element-wise

export const add = (a: Operand, b: Operand) => binary("Add", a, b);
export const sub = (a: Operand, b: Operand) => binary("Sub", a, b);
export const mul = (a: Operand, b: Operand) => binary("Mul", a, b);
export const div = (a: Operand, b: Operand) => binary("Div", a, b);
export const pow = (a: Operand, b: Operand) => binary("Pow", a, b);
export const maximum = (a: Operand, b: Operand) => binary("Max", a, b);
export const minimum = (a: Operand, b: Operand) => binary("Min", a, b);
export const equal = (a: Operand, b: Operand) => binary("Equal", a, b);
export const greater = (a: Operand, b: Operand) => binary("Greater", a, b);
export const less = (a: Operand, b: Operand) => binary("Less", a, b);
export const greaterEqual = (a: Operand, b: Operand) => binary("GreaterOrEqual", a, b);
export const lessEqual = (a: Operand, b: Operand) => binary("LessOrEqual", a, b);
export const logicalAnd = (a: Tensor, b: Tensor) => emit1("And", [a, b]);
export const logicalOr = (a: Tensor, b: Tensor) => emit1("Or", [a, b]);
export const logicalNot = (a: Tensor) => emit1("Not", [a]);

export const neg = (x: Tensor) => emit1("Neg", [x]);
export const abs = (x: Tensor) => emit1("Abs", [x]);
export const sign = (x: Tensor) => emit1("Sign", [x]);
export const sqrt = (x: Tensor) => emit1("Sqrt", [x]);
export const reciprocal = (x: Tensor) => emit1("Reciprocal", [x]);
export const rsqrt = (x: Tensor) => reciprocal(sqrt(x));
export const exp = (x: Tensor) => emit1("Exp", [x]);
export const log = (x: Tensor) => emit1("Log", [x]);
export const square = (x: Tensor) => mul(x, x);
export const relu = (x: Tensor) => emit1("Relu", [x]);
export const sigmoid = (x: Tensor) => emit1("Sigmoid", [x]);
export const tanh = (x: Tensor) => emit1("Tanh", [x]);
export const erf = (x: Tensor) => emit1("Erf", [x]);
export const identity = (x: Tensor) => emit1("Identity", [x]);

export function leakyRelu(x: Tensor, alpha = 0.01): Tensor {
  return emit1("LeakyRelu", [x], { alpha });
}

export function clip(x: Tensor, min: number, max: number): Tensor {
  return emit1("Clip", [x, scalar(min, x.dtype), scalar(max, x.dtype)]);
}

export const relu6 = (x: Tensor) => clip(x, 0, 6);

/** GELU, exact (erf) form as PyTorch's default. */
export function gelu(x: Tensor): Tensor {
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}

export function where(condition: Tensor, a: Operand, b: Operand): Tensor {
  const like = typeof a === "number" ? (b as Tensor) : a;
  return emit1("Where", [condition, lift(a, like), lift(b, like)]);
}

export function cast(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : emit1("Cast", [x], { to: onnxDtypeCode[dtype] });
}

// ---------------------------------------------------------------- gradient control

/** Value of x; no gradient flows back through it. */
export function stopGradient(x: Tensor): Tensor {
  return emit1("StopGradient", [x]);
}

/** Forward value of `value`, backward gradient of `gradientSource` (straight-through estimator). */
export function straightThrough(value: Tensor, gradientSource: Tensor): Tensor {
  return emit1("StraightThrough", [value, gradientSource]);
}

/**
 * Normalisation with batch statistics over `axes` (batch norm in training mode): y = γ·x̂ + β with
 * x̂ = (x − mean)·rstd, rstd = 1/√(var + eps), the biased variance; `gamma` and `beta` have x's shape
 * with the reduced axes kept as 1. Returns y and the batch mean and variance (kept dims, no gradient).
 *
 * The forward is traced from primitives on stopGradient(x); one graph-only BatchNormTrain node carries
 * y and its rule gives the closed form dx = γ·rstd·(g − mean(g) − x̂·mean(g·x̂)), dγ = Σ g·x̂, dβ = Σ g
 * (autodiff/rules.ts), about half the element-wise passes of differentiating the primitives.
 */
export function batchNormTrain(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  axes: readonly number[],
  eps: number,
): { y: Tensor; mean: Tensor; variance: Tensor } {
  const resolved = axesOf(x, axes);
  const fixed = stopGradient(x);
  const mu = mean(fixed, resolved, true);
  const centred = sub(fixed, mu);
  const variance = mean(square(centred), resolved, true);
  const rstd = rsqrt(add(variance, eps));
  const xhat = mul(centred, rstd);
  const value = add(mul(xhat, stopGradient(gamma)), stopGradient(beta));
  const y = emit1("BatchNormTrain", [value, x, xhat, rstd, gamma, beta], { axes: resolved });
  return { y, mean: mu, variance };
}

// ---------------------------------------------------------------- reductions

function axesOf(x: Tensor, axes: number | readonly number[] | undefined): number[] {
  if (axes === undefined) return x.shape.map((_, i) => i);
  return (typeof axes === "number" ? [axes] : [...axes]).map((a) => normAxis(a, x.rank));
}

/** Reduce over `axes` (all axes when omitted; an empty list reduces nothing, as in numpy). */
function reduce(
  op: string,
  x: Tensor,
  axes: number | readonly number[] | undefined,
  keepDims: boolean,
): Tensor {
  const resolved = axesOf(x, axes);
  if (resolved.length === 0) return x;
  return emit1(op, [x, ints(resolved)], { keepdims: keepDims ? 1 : 0 });
}

export const sum = (x: Tensor, axes?: number | readonly number[], keepDims = false) =>
  reduce("ReduceSum", x, axes, keepDims);
export const mean = (x: Tensor, axes?: number | readonly number[], keepDims = false) =>
  reduce("ReduceMean", x, axes, keepDims);
export const max = (x: Tensor, axes?: number | readonly number[], keepDims = false) =>
  reduce("ReduceMax", x, axes, keepDims);
export const min = (x: Tensor, axes?: number | readonly number[], keepDims = false) =>
  reduce("ReduceMin", x, axes, keepDims);

export function argMax(x: Tensor, axis: number, keepDims = false): Tensor {
  return emit1("ArgMax", [x], { axis: normAxis(axis, x.rank), keepdims: keepDims ? 1 : 0 });
}

export function argMin(x: Tensor, axis: number, keepDims = false): Tensor {
  return emit1("ArgMin", [x], { axis: normAxis(axis, x.rank), keepdims: keepDims ? 1 : 0 });
}

/** The k largest (or smallest) entries along an axis, sorted, with their int64 indices. */
export function topK(x: Tensor, k: number, axis = -1, largest = true): { values: Tensor; indices: Tensor } {
  const [values, indices] = emit("TopK", [x, ints([k])], {
    axis: normAxis(axis, x.rank),
    largest: largest ? 1 : 0,
    sorted: 1,
  });
  return { values, indices };
}

export function softmax(x: Tensor, axis = -1): Tensor {
  return emit1("Softmax", [x], { axis: normAxis(axis, x.rank) });
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return emit1("LogSoftmax", [x], { axis: normAxis(axis, x.rank) });
}

export function logSumExp(x: Tensor, axes: number | readonly number[], keepDims = false): Tensor {
  const m = stopGradient(max(x, axes, true));
  const out = add(log(sum(exp(sub(x, m)), axes, true)), m);
  return keepDims ? out : reshape(out, reducedShape(x, axesOf(x, axes)));
}

function reducedShape(x: Tensor, axes: number[]): number[] {
  return x.shape.filter((_, i) => !axes.includes(i));
}

/** Sum a broadcast result back down to `shape` (the adjoint of broadcasting). */
export function sumTo(x: Tensor, shape: readonly number[]): Tensor {
  if (x.shape.join() === shape.join()) return x;
  const lead = x.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < x.rank; i++) if (i < lead || (shape[i - lead] === 1 && x.shape[i] !== 1)) axes.push(i);
  const reduced = axes.length ? sum(x, axes, true) : x;
  return reshape(reduced, shape);
}

// ---------------------------------------------------------------- linear algebra

export function matMul(a: Tensor, b: Tensor): Tensor {
  return emit1("MatMul", [a, b]);
}

/** y = x · wᵀ + b with PyTorch's weight layout [out, in]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const y = matMul(x, transpose(weight, [1, 0]));
  return bias ? add(y, bias) : y;
}

// ---------------------------------------------------------------- shape

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  if (x.shape.join() === shape.join()) return x;
  return emit1("Reshape", [x, ints(shape)]);
}

export function flatten(x: Tensor, fromAxis = 1): Tensor {
  return reshape(x, [...x.shape.slice(0, fromAxis), sizeOf(x.shape.slice(fromAxis))]);
}

export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.every((p, i) => p === i)) return x;
  return emit1("Transpose", [x], { perm: [...perm] });
}

export interface SliceSpec {
  axis: number;
  start?: number;
  end?: number;
  step?: number;
}

/**
 * Strided slices along the given axes (Python slice semantics per axis). The bounds are resolved here
 * as Python's `slice.indices` does and emitted explicitly, so ONNX's different clamping never applies.
 */
export function slice(x: Tensor, specs: readonly SliceSpec[]): Tensor {
  const resolved = specs.map((s) => pythonSlice(s, x.shape[normAxis(s.axis, x.rank)]));
  const starts = resolved.map((r) => r.start);
  const ends = resolved.map((r) => r.end);
  const axes = specs.map((s) => normAxis(s.axis, x.rank));
  const steps = resolved.map((r) => r.step);
  return emit1("Slice", [x, ints(starts), ints(ends), ints(axes), ints(steps)]);
}

/** ONNX Slice bounds selecting what Python's x[start:end:step] selects on an axis of size `n`. */
function pythonSlice(s: SliceSpec, n: number): { start: number; end: number; step: number } {
  const step = s.step ?? 1;
  const bound = (v: number | undefined, fallback: number, low: number, high: number) => {
    if (v === undefined) return fallback;
    return Math.min(Math.max(v < 0 ? v + n : v, low), high);
  };
  const start = step > 0 ? bound(s.start, 0, 0, n) : bound(s.start, n - 1, -1, n - 1);
  const end = step > 0 ? bound(s.end, n, 0, n) : bound(s.end, -1, -1, n - 1);
  const count = Math.max(0, Math.ceil((end - start) / step));
  if (count === 0) return { start: 0, end: 0, step: 1 };
  const last = start + count * step;
  // A negative end would count from the back in ONNX; INT_MIN-like means "before index 0".
  return { start, end: last < 0 ? -(2 ** 53) : last, step };
}

export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 1) return xs[0];
  return emit1("Concat", [...xs], { axis: normAxis(axis, xs[0].rank) });
}

export function split(x: Tensor, sizes: readonly number[], axis: number): Tensor[] {
  return emit("Split", [x, ints(sizes)], { axis: normAxis(axis, x.rank) });
}

export function tile(x: Tensor, repeats: readonly number[]): Tensor {
  return emit1("Tile", [x, ints(repeats)]);
}

export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (x.shape.join() === shape.join()) return x;
  return emit1("Expand", [x, ints(shape)]);
}

/**
 * Pad with `pads` = [begin_0, ..., begin_{r-1}, end_0, ..., end_{r-1}] (ONNX order). `reflect`
 * mirrors without repeating the edge (numpy "reflect", OpenCV reflect-101); it is built from
 * constant-index Gathers so its gradient is the usual scatter-add.
 */
export function pad(
  x: Tensor,
  pads: readonly number[],
  mode: "constant" | "reflect" = "constant",
  value = 0,
): Tensor {
  if (pads.every((p) => p === 0)) return x;
  if (mode === "constant") return emit1("Pad", [x, ints(pads), scalar(value, x.dtype)], { mode: "constant" });
  let out = x;
  for (let axis = 0; axis < x.rank; axis++) {
    const before = pads[axis];
    const after = pads[axis + x.rank];
    if (before === 0 && after === 0) continue;
    const n = x.shape[axis];
    if (before >= n || after >= n) {
      throw new ShapeError(
        "Pad",
        x.graph.scope,
        [x.shape],
        `reflect padding (${before}, ${after}) must be smaller than axis ${axis} of size ${n}`,
      );
    }
    const index: number[] = [];
    for (let i = -before; i < n + after; i++) index.push(i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
    out = gather(out, constant(index, [index.length], "int64"), axis);
  }
  return out;
}

// ---------------------------------------------------------------- indexing

export function gather(x: Tensor, indices: Tensor, axis: number): Tensor {
  return emit1("Gather", [x, indices], { axis: normAxis(axis, x.rank) });
}

export function gatherElements(x: Tensor, indices: Tensor, axis: number): Tensor {
  return emit1("GatherElements", [x, indices], { axis: normAxis(axis, x.rank) });
}

export function scatterElements(
  x: Tensor,
  indices: Tensor,
  updates: Tensor,
  axis: number,
  reduction: "none" | "add" = "none",
): Tensor {
  return emit1("ScatterElements", [x, indices, updates], { axis: normAxis(axis, x.rank), reduction });
}

export function scatterND(
  x: Tensor,
  indices: Tensor,
  updates: Tensor,
  reduction: "none" | "add" = "none",
): Tensor {
  return emit1("ScatterND", [x, indices, updates], { reduction });
}

// ---------------------------------------------------------------- convolution and pooling

export type Padding = "valid" | "same" | number | readonly [number, number, number, number];

export interface ConvOptions {
  stride?: number | readonly [number, number];
  padding?: Padding;
  dilation?: number | readonly [number, number];
  groups?: number;
}

function pair(v: number | readonly [number, number] | undefined, fallback: number): [number, number] {
  if (v === undefined) return [fallback, fallback];
  return typeof v === "number" ? [v, v] : [v[0], v[1]];
}

/**
 * Explicit pads [top, left, bottom, right]. "same" gives output = ceil(input / stride) with the extra
 * pixel at the end (TensorFlow's rule; equals PyTorch's padding="same" at stride 1).
 */
export function resolvePadding(
  padding: Padding | undefined,
  input: readonly [number, number],
  kernel: readonly [number, number],
  stride: readonly [number, number],
  dilation: readonly [number, number],
): [number, number, number, number] {
  if (padding === undefined || padding === "valid") return [0, 0, 0, 0];
  if (typeof padding === "number") return [padding, padding, padding, padding];
  if (padding === "same") {
    const total = [0, 1].map((i) => {
      const out = Math.ceil(input[i] / stride[i]);
      return Math.max((out - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - input[i], 0);
    });
    return [
      Math.floor(total[0] / 2),
      Math.floor(total[1] / 2),
      total[0] - Math.floor(total[0] / 2),
      total[1] - Math.floor(total[1] / 2),
    ];
  }
  return [padding[0], padding[1], padding[2], padding[3]];
}

function convAttrs(x: Tensor, kernel: [number, number], options: ConvOptions): Attrs {
  const strides = pair(options.stride, 1);
  const dilations = pair(options.dilation, 1);
  const pads = resolvePadding(options.padding, [x.shape[2], x.shape[3]], kernel, strides, dilations);
  return { strides, pads, dilations, group: options.groups ?? 1, kernel_shape: kernel };
}

/** 2-D convolution, NCHW input, weight [out, in/groups, kh, kw] (PyTorch layout). */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, options: ConvOptions = {}): Tensor {
  const attrs = convAttrs(x, [weight.shape[2], weight.shape[3]], options);
  return emit1("Conv", bias ? [x, weight, bias] : [x, weight], attrs);
}

export interface ConvTransposeOptions {
  stride?: number | readonly [number, number];
  padding?: number | readonly [number, number, number, number];
  outputPadding?: number | readonly [number, number];
  dilation?: number | readonly [number, number];
  groups?: number;
}

/** Transposed convolution, weight [in, out/groups, kh, kw] (PyTorch layout). */
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor,
  options: ConvTransposeOptions = {},
): Tensor {
  const p = options.padding ?? 0;
  const attrs: Attrs = {
    strides: pair(options.stride, 1),
    pads: typeof p === "number" ? [p, p, p, p] : [...p],
    dilations: pair(options.dilation, 1),
    output_padding: pair(options.outputPadding, 0),
    group: options.groups ?? 1,
    kernel_shape: [weight.shape[2], weight.shape[3]],
  };
  return emit1("ConvTranspose", bias ? [x, weight, bias] : [x, weight], attrs);
}

export interface PoolOptions {
  kernel: number | readonly [number, number];
  stride?: number | readonly [number, number];
  padding?: Padding;
}

export function maxPool2d(x: Tensor, options: PoolOptions): Tensor {
  const kernel = pair(options.kernel, 1);
  const attrs = convAttrs(x, kernel, { stride: options.stride ?? options.kernel, padding: options.padding });
  delete attrs.group;
  return emit("MaxPool", [x], attrs)[0];
}

/**
 * Average pooling as a depthwise convolution with a constant 1/(kh·kw) kernel; with padding, the
 * divisor counts only real pixels (PyTorch `count_include_pad=False`) when `countIncludePad` is false.
 * Pads must be smaller than the kernel (as for MaxPool), so that no window lies wholly in the padding.
 */
export function avgPool2d(x: Tensor, options: PoolOptions & { countIncludePad?: boolean }): Tensor {
  const [kh, kw] = pair(options.kernel, 1);
  const channels = x.shape[1];
  const weights = new Array<number>(channels * kh * kw).fill(1 / (kh * kw));
  const w = constant(weights, [channels, 1, kh, kw]);
  const convOptions: ConvOptions = {
    stride: options.stride ?? options.kernel,
    padding: options.padding,
    groups: channels,
  };
  const pads = resolvePadding(
    options.padding,
    [x.shape[2], x.shape[3]],
    [kh, kw],
    pair(convOptions.stride, 1),
    [1, 1],
  );
  if (pads.some((p, i) => p >= (i % 2 === 0 ? kh : kw))) {
    throw new ShapeError(
      "AvgPool",
      x.graph.scope,
      [x.shape],
      `pads [${pads.join(", ")}] must be smaller than the kernel [${kh}, ${kw}]`,
    );
  }
  const pooled = conv2d(x, w, undefined, convOptions);
  if ((options.countIncludePad ?? true) || pads.every((p) => p === 0)) return pooled;
  const coverage = referenceCoverage(x.shape[2], x.shape[3], kh, kw, pair(convOptions.stride, 1), pads);
  return div(pooled, constant(coverage.data, [1, 1, coverage.h, coverage.w]));
}

/** Fraction of each pooling window that lies inside the image (for count_include_pad = false). */
function referenceCoverage(
  h: number,
  w: number,
  kh: number,
  kw: number,
  stride: [number, number],
  pads: [number, number, number, number],
): { data: number[]; h: number; w: number } {
  const oh = Math.floor((h + pads[0] + pads[2] - kh) / stride[0]) + 1;
  const ow = Math.floor((w + pads[1] + pads[3] - kw) / stride[1]) + 1;
  const data: number[] = [];
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      const y0 = oy * stride[0] - pads[0];
      const x0 = ox * stride[1] - pads[1];
      const rows = Math.min(y0 + kh, h) - Math.max(y0, 0);
      const cols = Math.min(x0 + kw, w) - Math.max(x0, 0);
      data.push((rows * cols) / (kh * kw));
    }
  }
  return { data, h: oh, w: ow };
}

export function globalAvgPool(x: Tensor): Tensor {
  return mean(x, [2, 3], true);
}

// ---------------------------------------------------------------- resize

/**
 * Interpolation matrix [out, in] along one axis: bilinear with half-pixel centres (align_corners
 * false, no antialias, PyTorch's clamping of negative source coordinates) or nearest
 * (floor(dst · in/out), PyTorch's "nearest").
 */
export function interpolationMatrix(inSize: number, outSize: number, mode: "bilinear" | "nearest"): number[] {
  const m = new Array<number>(outSize * inSize).fill(0);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    if (mode === "nearest") {
      m[o * inSize + Math.min(Math.floor(o * scale), inSize - 1)] = 1;
      continue;
    }
    const src = Math.max((o + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const t = src - i0;
    m[o * inSize + i0] += 1 - t;
    m[o * inSize + i1] += t;
  }
  return m;
}

/** Resize the last two axes of an NCHW tensor, as two MatMuls with constant interpolation matrices. */
export function resize(
  x: Tensor,
  size: readonly [number, number],
  mode: "bilinear" | "nearest" = "bilinear",
): Tensor {
  const [h, w] = [x.shape[x.rank - 2], x.shape[x.rank - 1]];
  const [oh, ow] = size;
  let out = x;
  if (ow !== w)
    out = matMul(out, constant(transposeMatrix(interpolationMatrix(w, ow, mode), ow, w), [w, ow]));
  if (oh !== h) out = matMul(constant(interpolationMatrix(h, oh, mode), [oh, h]), out);
  return out;
}

function transposeMatrix(m: number[], rows: number, cols: number): number[] {
  const t = new Array<number>(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
  return t;
}
