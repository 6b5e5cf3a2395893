/**
 * The one table of derivative rules (vector-Jacobian products), one entry per primitive op, in the
 * manner of PyTorch's derivatives.yaml and JAX's rule tables. A rule receives the node and the
 * cotangents of its outputs (undefined = zero) and returns one cotangent per input (undefined = no
 * gradient). Rules are written with the same tensor API as models, so a gradient graph is an ordinary
 * graph that compiles to ONNX.
 *
 * At kinks and ties the rules follow PyTorch: Relu passes nothing at 0, LeakyRelu passes alpha at 0,
 * Clip passes the gradient at its bounds, binary Max/Min split a tie in half, ReduceMax/Min share it
 * evenly among the tied entries, MaxPool and TopK give it to the selected (first) index.
 *
 * Convolution gradients follow docs/engine.md §4: the input gradient of Conv is a ConvTranspose. The
 * weight gradient of an ungrouped convolution is an im2col + batched MatMul (`matMulWeightGrad`); grouped
 * ones, and ungrouped ones whose im2col would be too large, use the Conv of §4 with the batch moved into
 * the channel position (`groupedWeightGrad`, groups folded into the batch axis).
 */
import * as T from "../api.js";
import type { Node, Tensor } from "../ir.js";
import { type ConvGeometry, convGeometry } from "../ops/conv.js";
import { reductionAxesOf } from "../ops/reduce.js";
import { constInts, resolveSlice } from "../ops/shape.js";
import { intAttr, intsAttr } from "../ops/spec.js";

export type VjpRule = (node: Node, grads: ReadonlyArray<Tensor | undefined>) => Array<Tensor | undefined>;

/** Ops whose outputs carry no gradient (integer/boolean results, or piecewise constant). */
export const nonDifferentiable = new Set([
  "Equal",
  "Greater",
  "Less",
  "GreaterOrEqual",
  "LessOrEqual",
  "And",
  "Or",
  "Not",
  "ArgMax",
  "ArgMin",
  "Sign",
  "Cast",
  "StopGradient",
]);

const zeroIfMissing = (g: Tensor | undefined, like: Tensor): Tensor => g ?? T.zerosLike(like);

function unbroadcast(g: Tensor, input: Tensor): Tensor {
  return T.sumTo(g, input.shape);
}

function reductionAxes(node: Node): number[] {
  const axes = node.inputs[1];
  return reductionAxesOf(node.inputs[0].rank, axes ? axes.constValue!.data : undefined);
}

/** Cotangent of a reduction's output reshaped so it broadcasts against the input. */
function keepDimsGrad(node: Node, g: Tensor): Tensor {
  const x = node.inputs[0];
  const axes = reductionAxes(node);
  return T.reshape(
    g,
    x.shape.map((d, i) => (axes.includes(i) ? 1 : d)),
  );
}

function keepDimsOutput(node: Node): Tensor {
  return keepDimsGrad(node, node.outputs[0]);
}

/** The forward convolution's geometry and kernel size, as the weight-gradient forms need it. */
type WeightGradGeometry = ConvGeometry & { kernel: [number, number] };

/** Swap axes 0 and 1 of a 4-D tensor. */
const t01 = (x: Tensor) => T.transpose(x, [1, 0, 2, 3]);

/**
 * Weight gradient of a (grouped) convolution: correlate `input` with `kernelLike` (both NCHW) where
 * the batch axis is the reduction axis. Returns [outChannels(kernelLike), inChannels/group, kh, kw].
 * `input` has C = group·cg channels, `kernelLike` has M = group·mg channels.
 */
function groupedWeightGrad(input: Tensor, kernelLike: Tensor, geometry: WeightGradGeometry): Tensor {
  const { group, strides: stride, dilations: dilation, pads, kernel } = geometry;
  const [n, c, h, w] = input.shape;
  const m = kernelLike.shape[1];
  const cg = c / group;
  const mg = m / group;
  // input -> [cg, group·n, h, w] (batch = channel within group, channels = group-major batch)
  const x = T.reshape(T.transpose(T.reshape(input, [n, group, cg, h, w]), [2, 1, 0, 3, 4]), [
    cg,
    group * n,
    h,
    w,
  ]);
  const [, , kh2, kw2] = kernelLike.shape;
  // kernelLike -> [group·mg, n, kh2, kw2]
  const k = T.reshape(T.transpose(T.reshape(kernelLike, [n, group, mg, kh2, kw2]), [1, 2, 0, 3, 4]), [
    m,
    n,
    kh2,
    kw2,
  ]);
  const full = T.emit("Conv", [x, k], {
    strides: dilation,
    dilations: stride,
    pads,
    group,
    kernel_shape: [kh2, kw2],
  })[0];
  const cropped =
    full.shape[2] === kernel[0] && full.shape[3] === kernel[1]
      ? full
      : T.slice(full, [
          { axis: 2, start: 0, end: kernel[0] },
          { axis: 3, start: 0, end: kernel[1] },
        ]);
  return t01(cropped);
}

/**
 * Largest im2col (elements, 64 MB) `matMulWeightGrad` builds at once [ours]: larger ones are built and
 * multiplied in batch chunks whose partial gradients are summed, so that the extra memory stays bounded
 * (SQUID's faithful generator step peaked at 12.5 GB with whole-batch im2cols, 9.2 GB before them).
 */
export const MAX_IM2COL_ELEMENTS = 2 ** 24;

/**
 * Elements of the im2col one batch chunk aims at (16 MB; a chunk holds at least one image) [ours].
 * ONNX Runtime's allocation planner keeps a dead value's buffer for the next value of the same shape,
 * so a chunk's im2col buffer stays allocated from its layer until a layer of the same geometry
 * (SQUID's student decoder repeats its teacher's) needs one: smaller chunks hold less. SQUID's
 * training process (scripts/step-memory.ts, 128 px, batch 16, retaining malloc, 2026-12-04): peak RSS
 * 3053 MB with 64 MB chunks, 2791 MB with 16 MB; bench:method beside PyTorch: generator step 0.52x →
 * 0.53x PyTorch's in two runs, peak RSS 3233 → 2902 MB (docs/results.md, "SQUID beside PyTorch").
 */
export const IM2COL_CHUNK_ELEMENTS = 2 ** 22;

/**
 * Weight gradient of an ungrouped convolution as im2col + batched MatMul: the im2col is itself a Conv
 * of every input channel with kh·kw one-hot kernels (same stride, dilation and pads), so ONNX Runtime
 * runs it threaded; then dw[m, (c, i, j)] = Σₙ cols[n, (c, i, j), ·] · kernelLike[n, m, ·]ᵀ (ORT fuses
 * the transpose into the MatMul) and a sum over the batch. Why [ours, measured with
 * bench/proto_wgrad.ts]: ORT's Conv runs the §4 formula — output kh×kw, fewer output positions than
 * filters — as one single-threaded im2col of the whole "kernel" per batch item followed by a thin GEMM,
 * at about half the GFLOP/s of the forward convolutions; this form was about 2x faster on the
 * reference autoencoder's layers. When the output has no more positions than channels (M ≥ Ho·Wo, deep
 * layers on small maps) the batch joins the MatMul's reduction instead (both operands transposed to put
 * the batch next to the positions): the per-image products [C·kh·kw, M] and their sum over the batch cost
 * more than the transposes [ours, bench/proto_wgrad.ts variant H, issue 23, batch 16: layer e4 of the
 * reference AE at 128 px (M = 4·Ho·Wo) 6.8 → 4.5 ms, at 256 px (M = Ho·Wo) 21.4 → 16.7 ms; equal at
 * M = Ho·Wo/2, slower below]. Returns the same [M, C, kh, kw] as `groupedWeightGrad`, or undefined when
 * one image's im2col alone exceeds `MAX_IM2COL_ELEMENTS`.
 */
function matMulWeightGrad(
  input: Tensor,
  kernelLike: Tensor,
  geometry: WeightGradGeometry,
): Tensor | undefined {
  const { strides: stride, dilations: dilation, pads, kernel } = geometry;
  const [n, c, h, w] = input.shape;
  const [, m, gh, gw] = kernelLike.shape;
  const taps = kernel[0] * kernel[1];
  const perImage = c * taps * gh * gw;
  if (perImage > MAX_IM2COL_ELEMENTS) return undefined;
  const identity =
    taps === 1 && stride.every((s) => s === 1) && pads.every((p) => p === 0) && h === gh && w === gw;
  const oneHot = new Float32Array(taps * taps);
  for (let t = 0; t < taps; t++) oneHot[t * taps + t] = 1;
  const kernels = identity ? undefined : T.constant(oneHot, [taps, 1, ...kernel]);

  /** Σ over the images of one chunk, [C·taps, M]. */
  const chunkGradient = (x: Tensor, g: Tensor): Tensor => {
    const b = x.shape[0];
    let cols: Tensor;
    if (!kernels) cols = T.reshape(x, [b, c, h * w]);
    else {
      const patches = T.emit("Conv", [T.reshape(x, [b * c, 1, h, w]), kernels], {
        strides: stride,
        dilations: dilation,
        pads,
        group: 1,
        kernel_shape: kernel,
      })[0];
      // A ConvTranspose's output_padding can leave the im2col longer than the kernel-like operand.
      const cropped =
        patches.shape[2] === gh && patches.shape[3] === gw
          ? patches
          : T.slice(patches, [
              { axis: 2, start: 0, end: gh },
              { axis: 3, start: 0, end: gw },
            ]);
      cols = T.reshape(cropped, [b, c * taps, gh * gw]);
    }
    const positions = gh * gw;
    if (m >= positions) {
      // No more positions than output channels: the batch joins the reduction, one MatMul
      // [C·taps, b·positions] × [b·positions, M] instead of b products [C·taps, M] summed afterwards.
      const rows = cols.shape[1];
      const colsT = T.reshape(T.transpose(cols, [1, 0, 2]), [rows, b * positions]);
      const gBatchLast = T.reshape(T.transpose(T.reshape(g, [b, m, positions]), [1, 0, 2]), [
        m,
        b * positions,
      ]);
      return T.matMul(colsT, T.transpose(gBatchLast, [1, 0]));
    }
    const gT = T.transpose(T.reshape(g, [b, m, positions]), [0, 2, 1]);
    return T.sum(T.matMul(cols, gT), 0);
  };

  const chunks = Math.ceil((n * perImage) / IM2COL_CHUNK_ELEMENTS);
  const chunkSize = Math.ceil(n / chunks);
  let summed: Tensor | undefined;
  for (let start = 0; start < n; start += chunkSize) {
    const end = Math.min(n, start + chunkSize);
    const part =
      start === 0 && end === n
        ? chunkGradient(input, kernelLike)
        : chunkGradient(
            T.slice(input, [{ axis: 0, start, end }]),
            T.slice(kernelLike, [{ axis: 0, start, end }]),
          );
    summed = summed ? T.add(summed, part) : part;
  }
  return T.reshape(T.transpose(summed!, [1, 0]), [m, c, ...kernel]);
}

/** Weight gradient of a convolution: `matMulWeightGrad` where it applies, else `groupedWeightGrad`. */
function weightGrad(input: Tensor, kernelLike: Tensor, geometry: WeightGradGeometry): Tensor {
  return (
    (geometry.group === 1 ? matMulWeightGrad(input, kernelLike, geometry) : undefined) ??
    groupedWeightGrad(input, kernelLike, geometry)
  );
}

/**
 * Forward values the backward pass recomputes instead of keeping (rematerialisation, as JAX's
 * `checkpoint` with a policy or PyTorch's in-place activated batch norm), in steps that ask for it
 * (grad.ts `recompute`): a batch norm's output is γ·x̂ + β from the x̂ its own rule keeps anyway, and
 * an activation, a sum, a concatenation or a product with a constant matrix (bilinear upsampling) of
 * recomputed values is recomputed too. A rule that reads such a value (an activation's mask, the next
 * convolution's weight gradient) reads a copy computed at that point of the backward pass, so the
 * forward's value dies as soon as the forward has used it. Each entry rebuilds the value with the
 * forward's own ops in the same order, so the copy is equal bit for bit. Steps that recompute turn off
 * ONNX Runtime's common-subexpression elimination, which would merge the copy back into the forward's
 * value (runtime.ts `RECOMPUTE_DISABLED_OPTIMIZERS`). SQUID's generator step (docs/results.md, issue
 * 23, round 5): values alive at its peak in trace order 1795 → 1366 MB.
 *
 * A recompute rule receives the node and `source`: `source(k)` is input k's recomputed copy, or
 * undefined when it has none. It returns the node's recomputed output, or undefined.
 */
export type RecomputeRule = (node: Node, source: (input: number) => Tensor | undefined) => Tensor | undefined;

/** A rule that applies the op again to its inputs' recomputed copies, when every input has one. */
const onRecomputedInputs =
  (apply: (inputs: Tensor[], node: Node) => Tensor): RecomputeRule =>
  (n, source) => {
    const inputs = n.inputs.map((_, k) => source(k));
    return inputs.every((t) => t !== undefined) ? apply(inputs as Tensor[], n) : undefined;
  };

export const recomputeRules: Record<string, RecomputeRule> = {
  // The forward's value: add(mul(x̂, γ), β) (api.ts `batchNormTrain`); x̂, γ and β are kept.
  BatchNormTrain: (n) => {
    const [, , xhat, , gamma, beta] = n.inputs;
    return T.add(T.mul(xhat, gamma), beta);
  },
  Relu: onRecomputedInputs(([x]) => T.relu(x)),
  LeakyRelu: onRecomputedInputs(([x], n) => T.leakyRelu(x, n.attrs.alpha as number)),
  // A residual block's sum.
  Add: onRecomputedInputs(([a, b]) => T.add(a, b)),
  // A skip connection's concatenation.
  Concat: onRecomputedInputs((parts, n) => T.concat(parts, n.attrs.axis as number)),
  // A product with a constant matrix (`resize`: bilinear upsampling along one axis).
  MatMul: (n, source) => {
    const [a, b] = n.inputs;
    const x = b.constValue ? source(0) : a.constValue ? source(1) : undefined;
    return x && (b.constValue ? T.matMul(x, b) : T.matMul(a, x));
  },
};

export const vjpRules: Record<string, VjpRule> = {
  Identity: (_n, [g]) => [g],
  StraightThrough: (_n, [g]) => [undefined, g],
  BatchNormTrain: (n, [g]) => {
    if (!g) return n.inputs.map(() => undefined);
    const [, x, xhat, rstd, gamma, beta] = n.inputs;
    const axes = intsAttr(n.attrs, "axes");
    const count = x.size / gamma.size;
    const dGamma = T.sum(T.mul(g, xhat), axes, true);
    const dBeta = T.sum(g, axes, true);
    // dx = k·g − (x̂·k·mean(g·x̂) + k·mean(g)) with k = γ·rstd; the per-channel factors are tiny.
    const k = T.mul(gamma, rstd);
    const slope = T.mul(k, T.div(dGamma, count));
    const offset = T.mul(k, T.div(dBeta, count));
    const dx = T.sub(T.mul(g, k), T.add(T.mul(xhat, slope), offset));
    return [undefined, dx, undefined, undefined, dGamma, T.reshape(dBeta, beta.shape)];
  },
  Neg: (_n, [g]) => [g && T.neg(g)],
  Abs: (n, [g]) => [g && T.mul(g, T.sign(n.inputs[0]))],
  Sqrt: (n, [g]) => [g && T.div(g, T.mul(n.outputs[0], 2))],
  Reciprocal: (n, [g]) => [g && T.neg(T.mul(g, T.square(n.outputs[0])))],
  Exp: (n, [g]) => [g && T.mul(g, n.outputs[0])],
  Log: (n, [g]) => [g && T.div(g, n.inputs[0])],
  // The mask is read from the output (y > 0 ⇔ x > 0 for ReLU and for LeakyReLU with α ≥ 0): the output
  // is usually kept anyway (the next layer's weight gradient reads it), so the pre-activation (a batch
  // norm's output, a residual sum) can be freed right after the forward, as PyTorch's in-place ReLU does.
  // SQUID's generator step: values alive at its peak 2253 → 1795 MB (docs/results.md, issue 23).
  Relu: (n, [g]) => [g && T.where(T.greater(n.outputs[0], 0), g, 0)],
  LeakyRelu: (n, [g]) => {
    const alpha = n.attrs.alpha as number;
    const maskSource = alpha >= 0 ? n.outputs[0] : n.inputs[0];
    return [g && T.where(T.greater(maskSource, 0), g, T.mul(g, alpha))];
  },
  Sigmoid: (n, [g]) => {
    const y = n.outputs[0];
    return [g && T.mul(g, T.mul(y, T.sub(1, y)))];
  },
  Tanh: (n, [g]) => [g && T.mul(g, T.sub(1, T.square(n.outputs[0])))],
  Erf: (n, [g]) => [g && T.mul(g, T.mul(T.exp(T.neg(T.square(n.inputs[0]))), 2 / Math.sqrt(Math.PI)))],
  Clip: (n, [g]) => {
    const [x, lo, hi] = n.inputs;
    return [
      g && T.where(T.logicalAnd(T.greaterEqual(x, lo), T.lessEqual(x, hi)), g, 0),
      undefined,
      undefined,
    ];
  },
  Add: (n, [g]) => [g && unbroadcast(g, n.inputs[0]), g && unbroadcast(g, n.inputs[1])],
  Sub: (n, [g]) => [g && unbroadcast(g, n.inputs[0]), g && unbroadcast(T.neg(g), n.inputs[1])],
  Mul: (n, [g]) => {
    const [a, b] = n.inputs;
    return [g && unbroadcast(T.mul(g, b), a), g && unbroadcast(T.mul(g, a), b)];
  },
  Div: (n, [g]) => {
    const [a, b] = n.inputs;
    return [g && unbroadcast(T.div(g, b), a), g && unbroadcast(T.neg(T.mul(g, T.div(n.outputs[0], b))), b)];
  },
  Pow: (n, [g]) => {
    const [a, b] = n.inputs;
    const y = n.outputs[0];
    const constantExponent = b.constValue !== undefined;
    return [
      g && unbroadcast(T.mul(g, T.mul(b, T.pow(a, T.sub(b, 1)))), a),
      g && !constantExponent ? unbroadcast(T.mul(g, T.mul(y, T.log(a))), b) : undefined,
    ];
  },
  Max: (n, [g]) => binaryExtremumGrad(n, g, T.greater),
  Min: (n, [g]) => binaryExtremumGrad(n, g, T.less),
  Where: (n, [g]) => {
    const [c, a, b] = n.inputs;
    return [undefined, g && unbroadcast(T.where(c, g, 0), a), g && unbroadcast(T.where(c, 0, g), b)];
  },
  ReduceSum: (n, [g]) => [g && T.expand(keepDimsGrad(n, g), n.inputs[0].shape)],
  ReduceMean: (n, [g]) => {
    const x = n.inputs[0];
    const count = x.size / n.outputs[0].size;
    return [g && T.expand(T.div(keepDimsGrad(n, g), count), x.shape)];
  },
  ReduceMax: (n, [g]) => extremumGrad(n, g),
  ReduceMin: (n, [g]) => extremumGrad(n, g),
  Softmax: (n, [g]) => {
    if (!g) return [undefined];
    const y = n.outputs[0];
    const axis = intAttr(n.attrs, "axis");
    return [T.mul(y, T.sub(g, T.sum(T.mul(g, y), axis, true)))];
  },
  LogSoftmax: (n, [g]) => {
    if (!g) return [undefined];
    const axis = intAttr(n.attrs, "axis");
    return [T.sub(g, T.mul(T.exp(n.outputs[0]), T.sum(g, axis, true)))];
  },
  TopK: (n, [gValues]) => {
    if (!gValues) return [undefined, undefined];
    const x = n.inputs[0];
    const axis = intAttr(n.attrs, "axis");
    return [T.scatterElements(T.zerosLike(x), n.outputs[1], gValues, axis, "add"), undefined];
  },
  MatMul: (n, [g]) => {
    if (!g) return [undefined, undefined];
    const [a, b] = n.inputs;
    const swapLast = (t: Tensor) =>
      T.transpose(
        t,
        [...t.shape.keys()].map((i) => (i === t.rank - 2 ? t.rank - 1 : i === t.rank - 1 ? t.rank - 2 : i)),
      );
    if (b.rank === 2 && a.rank > 2) {
      // A matrix shared by every leading index of `a` (a Linear layer on [B, L, in] inputs): its
      // gradient is one 2-D product over all rows, aᵀ·g [K, N], not B·L outer products [B, K, N] summed
      // afterwards [ours, issue 23: SQUID's attention projections had four [64, 2048, 2048]
      // intermediates, 1 GB each, and 260 ms of MatMul + ReduceSum per generator step].
      const k = a.shape[a.rank - 1];
      const rows = a.size / k;
      const gradB = T.matMul(T.transpose(T.reshape(a, [rows, k]), [1, 0]), T.reshape(g, [rows, b.shape[1]]));
      return [T.matMul(g, swapLast(b)), gradB];
    }
    return [T.sumTo(T.matMul(g, swapLast(b)), a.shape), T.sumTo(T.matMul(swapLast(a), g), b.shape)];
  },
  Reshape: (n, [g]) => [g && T.reshape(g, n.inputs[0].shape), undefined],
  Transpose: (n, [g]) => {
    const perm = intsAttr(n.attrs, "perm");
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [g && T.transpose(g, inverse)];
  },
  Slice: (n, [g]) => {
    if (!g) return [undefined];
    const x = n.inputs[0];
    const fail = (d: string): never => {
      throw new Error(d);
    };
    const [starts, ends] = [constInts(n.inputs[1], "starts", fail), constInts(n.inputs[2], "ends", fail)];
    const axes = n.inputs[3] ? constInts(n.inputs[3], "axes", fail) : starts.map((_, i) => i);
    const steps = n.inputs[4] ? constInts(n.inputs[4], "steps", fail) : starts.map(() => 1);
    const box = resolveSlice(x.shape, starts, ends, axes, steps);
    if (box.every((b) => b.step === 1)) {
      const pads = [...box.map((b) => b.start), ...box.map((b, i) => x.shape[i] - b.start - b.count)];
      return [T.pad(g, pads)];
    }
    return [scatterIntoBox(g, x.shape, box)];
  },
  Concat: (n, [g]) => {
    if (!g) return n.inputs.map(() => undefined);
    const axis = intAttr(n.attrs, "axis");
    return T.split(
      g,
      n.inputs.map((t) => t.shape[axis]),
      axis,
    );
  },
  Split: (n, grads) => {
    if (grads.every((g) => !g)) return [undefined, undefined];
    const axis = intAttr(n.attrs, "axis");
    return [
      T.concat(
        n.outputs.map((o, i) => zeroIfMissing(grads[i], o)),
        axis,
      ),
      undefined,
    ];
  },
  Pad: (n, [g]) => {
    if (!g) return [undefined];
    const rank = n.inputs[0].rank;
    const pads = Array.from(n.inputs[1].constValue!.data);
    if (n.attrs.mode === "reflect") return [reflectPadGrad(g, n.inputs[0].shape, pads)];
    // Crop what positive pads added; give back what negative pads cropped, as zeros.
    const cropped = T.slice(
      g,
      g.shape.map((d, axis) => ({
        axis,
        start: Math.max(pads[axis], 0),
        end: d - Math.max(pads[axis + rank], 0),
      })),
    );
    return [
      T.pad(
        cropped,
        pads.map((p) => Math.max(-p, 0)),
      ),
    ];
  },
  Tile: (n, [g]) => {
    if (!g) return [undefined];
    const x = n.inputs[0];
    const reps = Array.from(n.inputs[1].constValue!.data);
    const split = x.shape.flatMap((d, i) => [reps[i], d]);
    const summed = T.sum(
      T.reshape(g, split),
      x.shape.map((_, i) => 2 * i),
    );
    return [T.reshape(summed, x.shape)];
  },
  Expand: (n, [g]) => [g && T.sumTo(g, n.inputs[0].shape)],
  Gather: (n, [g]) => {
    if (!g) return [undefined];
    const [x, indices] = n.inputs;
    const axis = intAttr(n.attrs, "axis");
    const k = indices.size;
    const toFront = [axis, ...x.shape.keys()].filter((a, i) => i === 0 || a !== axis);
    const xFront = toFront.map((a) => x.shape[a]);
    const rest = xFront.slice(1);
    const gFlat = T.reshape(T.transpose(g, gatherGradPerm(x.rank, indices.rank, axis)), [k, ...rest]);
    const scattered = T.scatterND(
      T.zeros(xFront),
      T.reshape(normaliseIndices(indices, [x.shape[axis]]), [k, 1]),
      gFlat,
      "add",
    );
    return [
      T.transpose(
        scattered,
        toFront.map((_, i) => toFront.indexOf(i)),
      ),
      undefined,
    ];
  },
  GatherElements: (n, [g]) => {
    if (!g) return [undefined];
    const [x, indices] = n.inputs;
    return [T.scatterElements(T.zerosLike(x), indices, g, intAttr(n.attrs, "axis"), "add"), undefined];
  },
  ScatterElements: (n, [g]) => {
    if (!g) return [undefined, undefined, undefined];
    if (n.attrs.reduction === "add") {
      return [g, undefined, T.gatherElements(g, n.inputs[1], intAttr(n.attrs, "axis"))];
    }
    const [, indices, updates] = n.inputs;
    const axis = intAttr(n.attrs, "axis");
    return [
      T.scatterElements(g, indices, T.zerosLike(updates), axis),
      undefined,
      T.gatherElements(g, indices, axis),
    ];
  },
  ScatterND: (n, [g]) => {
    if (!g) return [undefined, undefined, undefined];
    const [, indices, updates] = n.inputs;
    const gathered = gatherND(g, indices, updates.shape);
    if (n.attrs.reduction === "add") return [g, undefined, gathered];
    return [T.scatterND(g, indices, T.zerosLike(updates)), undefined, gathered];
  },
  Conv: (n, [g]) => {
    if (!g) return n.inputs.map(() => undefined);
    const [x, w, b] = n.inputs;
    const geo = convGeometry(n.attrs);
    const [kh, kw] = [w.shape[2], w.shape[3]];
    const outputPadding = [0, 1].map((i) => {
      const size = x.shape[2 + i];
      const produced =
        geo.strides[i] * (g.shape[2 + i] - 1) +
        (i === 0 ? kh - 1 : kw - 1) * geo.dilations[i] +
        1 -
        geo.pads[i] -
        geo.pads[i + 2];
      return size - produced;
    });
    const dx = T.emit("ConvTranspose", [g, w], {
      strides: geo.strides,
      pads: geo.pads,
      dilations: geo.dilations,
      group: geo.group,
      kernel_shape: [kh, kw],
      output_padding: outputPadding,
    })[0];
    const dw = weightGrad(x, g, { ...geo, kernel: [kh, kw] });
    const db = b ? T.sum(g, [0, 2, 3]) : undefined;
    return b ? [dx, dw, db] : [dx, dw];
  },
  ConvTranspose: (n, [g]) => {
    if (!g) return n.inputs.map(() => undefined);
    const [x, w, b] = n.inputs;
    const geo = convGeometry(n.attrs);
    const [kh, kw] = [w.shape[2], w.shape[3]];
    const dxFull = T.emit("Conv", [g, w], {
      strides: geo.strides,
      pads: geo.pads,
      dilations: geo.dilations,
      group: geo.group,
      kernel_shape: [kh, kw],
    })[0];
    const dx =
      dxFull.shape[2] === x.shape[2] && dxFull.shape[3] === x.shape[3]
        ? dxFull
        : T.slice(dxFull, [
            { axis: 2, start: 0, end: x.shape[2] },
            { axis: 3, start: 0, end: x.shape[3] },
          ]);
    const dw = weightGrad(g, x, { ...geo, kernel: [kh, kw] });
    const db = b ? T.sum(g, [0, 2, 3]) : undefined;
    return b ? [dx, dw, db] : [dx, dw];
  },
  MaxPool: (n, [g]) => {
    if (!g) return [undefined];
    const x = n.inputs[0];
    const flatIndices = T.reshape(n.outputs[1], [g.size]);
    const flat = T.scatterElements(T.zeros([x.size]), flatIndices, T.reshape(g, [g.size]), 0, "add");
    return [T.reshape(flat, x.shape)];
  },
};

/** Max/Min of two tensors: the gradient goes to the winner; ties split it in half (as PyTorch). */
function binaryExtremumGrad(
  n: Node,
  g: Tensor | undefined,
  wins: (a: Tensor, b: Tensor) => Tensor,
): Array<Tensor | undefined> {
  if (!g) return [undefined, undefined];
  const [a, b] = n.inputs;
  const half = T.where(T.equal(a, b), T.mul(g, 0.5), 0);
  return [unbroadcast(T.where(wins(a, b), g, half), a), unbroadcast(T.where(wins(b, a), g, half), b)];
}

function extremumGrad(n: Node, g: Tensor | undefined): Array<Tensor | undefined> {
  if (!g) return [undefined, undefined];
  const x = n.inputs[0];
  const hits = T.cast(T.equal(x, keepDimsOutput(n)), "float32");
  const count = T.sum(hits, reductionAxes(n), true);
  return [T.mul(T.div(hits, count), keepDimsGrad(n, g)), undefined];
}

/** Permutation taking Gather's output [pre, idx..., post] to [idx..., pre, post]. */
function gatherGradPerm(dataRank: number, indexRank: number, axis: number): number[] {
  const pre = Array.from({ length: axis }, (_, i) => i);
  const idx = Array.from({ length: indexRank }, (_, i) => axis + i);
  const post = Array.from({ length: dataRank - axis - 1 }, (_, i) => axis + indexRank + i);
  return [...idx, ...pre, ...post];
}

/** Negative indices made positive; `sizes` holds one axis size, or one per entry of the last index axis. */
function normaliseIndices(indices: Tensor, sizes: readonly number[]): Tensor {
  if (indices.constValue && Array.from(indices.constValue.data).every((v) => v >= 0)) return indices;
  const size = T.constant(sizes, sizes.length === 1 ? [] : [sizes.length], "int64");
  return T.where(T.less(indices, T.scalar(0, "int64")), T.add(indices, size), indices);
}

/** GatherND built from Gather on the flattened leading axes (ONNX GatherND has no rule of its own here). */
function gatherND(x: Tensor, indices: Tensor, outShape: readonly number[]): Tensor {
  const q = indices.shape[indices.rank - 1];
  const lead = x.shape.slice(0, q);
  const strides = lead.map((_, i) => lead.slice(i + 1).reduce((a, d) => a * d, 1));
  const flatIndex = T.sum(T.mul(normaliseIndices(indices, lead), T.constant(strides, [q], "int64")), -1);
  const flatX = T.reshape(x, [lead.reduce((a, d) => a * d, 1), ...x.shape.slice(q)]);
  return T.reshape(T.gather(flatX, T.reshape(flatIndex, [flatIndex.size]), 0), outShape);
}

/** Adjoint of reflect padding: per axis, scatter-add every padded position back onto its source. */
function reflectPadGrad(g: Tensor, shape: readonly number[], pads: number[]): Tensor {
  let out = g;
  shape.forEach((size, axis) => {
    const [before, after] = [pads[axis], pads[axis + shape.length]];
    if (before === 0 && after === 0) return;
    const sources: number[] = [];
    for (let i = -before; i < size + after; i++)
      sources.push(i < 0 ? -i : i >= size ? 2 * (size - 1) - i : i);
    const lane = out.shape.map((d, a) => (a === axis ? d : 1));
    const index = T.expand(T.constant(sources, lane, "int64"), out.shape);
    const zeros = T.zeros(out.shape.map((d, a) => (a === axis ? size : d)));
    out = T.scatterElements(zeros, index, out, axis, "add");
  });
  return out;
}

/** Place g (the strided slice's cotangent) into zeros of the input's shape. */
function scatterIntoBox(g: Tensor, shape: readonly number[], box: ReturnType<typeof resolveSlice>): Tensor {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, d) => a * d, 1));
  const offsets: number[] = [];
  const count = box.reduce((a, b) => a * b.count, 1);
  const index = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < count; o++) {
    let rest = o;
    for (let a = shape.length - 1; a >= 0; a--) {
      index[a] = rest % box[a].count;
      rest = Math.floor(rest / box[a].count);
    }
    offsets.push(index.reduce((acc, i, a) => acc + (box[a].start + i * box[a].step) * strides[a], 0));
  }
  const total = shape.reduce((a, d) => a * d, 1);
  const flat = T.scatterElements(
    T.zeros([total]),
    T.constant(offsets, [count], "int64"),
    T.reshape(g, [count]),
    0,
  );
  return T.reshape(flat, shape);
}
