/**
 * Prototype for the engine report (not part of `bench:engine`): the weight gradient of a 4×4 stride-2
 * pad-1 convolution written three ways and timed on ONNX Runtime.
 *
 *   A. docs/engine.md §4 (the engine's form for grouped convolutions): Transpose01(Conv(Transpose01(x), Transpose01(dy);
 *      stride 1, dilation 2)) — a "convolution" whose kernel is the whole 32×32 output gradient and whose
 *      output is 4×4, which ORT (MLAS) runs as one single-threaded im2col of the whole "kernel" per
 *      input channel + one thin GEMM.
 *   B. im2col with 16 strided Slices of the padded input, concatenated to [N, C·16, Ho·Wo], then one
 *      batched MatMul with dyᵀ [N, Ho·Wo, M] and a ReduceSum over the batch: big GEMMs, no transposes
 *      of large tensors.
 *   E. im2col by a one-hot Conv (threaded) + batched MatMul: the engine's form for ungrouped ones.
 *   F. (issue 23) space-to-depth first: pad x by 1, fold each 2×2 pixel block into channels (Reshape,
 *      Transpose, Reshape: [N, 4C, Ho+1, Wo+1]); the stride-2 4×4 convolution is then a stride-1 2×2 one,
 *      whose im2col is a one-hot Conv with 4 kernels (not a multiple of ORT's NCHWc block, so ORT runs it
 *      in NCHW and adds no NCHWc → NCHW reorder); then the batched MatMul as in E, and the small weight
 *      gradient is reordered back to [M, C, 4, 4].
 *   G. as F, with the im2col built by 4 contiguous Slices of the space-to-depth tensor and a Concat.
 *   H. (issue 23) as E, but the batch joins the MatMul's reduction: the im2col [N, C·16, P] and the output
 *      gradient [N, M, P] are both transposed to put N next to P, then one MatMul [C·16, N·P] × [N·P, M]
 *      replaces the batched MatMul [N, C·16, M] and its ReduceSum over N (fewer bytes when M > P).
 *
 * Usage: node .bench/bench/proto_wgrad.js [N C M H] (defaults: layer e2 / d3 at 128 px, batch 16).
 */
import ort from "onnxruntime-node";
import * as T from "../src/engine/api.js";
import { type Tensor, trace } from "../src/engine/ir.js";
import { toOnnx } from "../src/engine/onnx.js";

const [n, c, m, h] = process.argv
  .slice(2)
  .map(Number)
  .concat([16, 32, 64, 64].slice(process.argv.length - 2));
const ho = h / 2;
const t01 = (t: Tensor) => T.transpose(t, [1, 0, 2, 3]);

function formulaA(x: Tensor, dy: Tensor): Tensor {
  const full = T.emit("Conv", [t01(x), t01(dy)], {
    strides: [1, 1],
    dilations: [2, 2],
    pads: [1, 1, 1, 1],
    group: 1,
    kernel_shape: [ho, ho],
  })[0];
  const cropped =
    full.shape[2] === 4
      ? full
      : T.slice(full, [
          { axis: 2, start: 0, end: 4 },
          { axis: 3, start: 0, end: 4 },
        ]);
  return t01(cropped);
}

/**
 * E. im2col by a Conv with one-hot 4×4 kernels (threaded inside ORT, unlike Slice/Concat), then one
 * batched MatMul per image with dyᵀ (ORT fuses the transpose) and a ReduceSum over the batch; the form
 * src/engine/autodiff/rules.ts adopted (`matMulWeightGrad`).
 */
function formulaE(x: Tensor, dy: Tensor): Tensor {
  const oneHot = new Float32Array(16 * 16);
  for (let k = 0; k < 16; k++) oneHot[k * 16 + k] = 1;
  const kernels = T.constant(oneHot, [16, 1, 4, 4]);
  const cols = T.emit("Conv", [T.reshape(x, [n * c, 1, h, h]), kernels], {
    strides: [2, 2],
    dilations: [1, 1],
    pads: [1, 1, 1, 1],
    group: 1,
    kernel_shape: [4, 4],
  })[0]; // [N·C, 16, Ho, Wo]
  const dyT = T.transpose(T.reshape(dy, [n, m, ho * ho]), [0, 2, 1]); // [N, pixels, M]
  const prod = T.sum(T.matMul(T.reshape(cols, [n, c * 16, ho * ho]), dyT), 0); // [(c, ky, kx), M]
  return T.reshape(T.transpose(prod, [1, 0]), [m, c, 4, 4]);
}

/** x [N, C, H, W] padded by 1 → [N, (a, b, c), Ho + 1, Wo + 1] with x_pad[c, 2i + a, 2j + b]. */
function spaceToDepth(x: Tensor): Tensor {
  const xp = T.pad(x, [0, 0, 1, 1, 0, 0, 1, 1]);
  const r = T.reshape(xp, [n, c, ho + 1, 2, ho + 1, 2]);
  return T.reshape(T.transpose(r, [0, 3, 5, 1, 2, 4]), [n, 4 * c, ho + 1, ho + 1]);
}

/** dw rows ordered (a, b, c, u, v) [or (u, v, a, b, c) when `tapsFirst`] → [M, C, 4, 4] with ky = 2u + a. */
function reorderWeightGrad(prod: Tensor, tapsFirst: boolean): Tensor {
  const split = T.reshape(prod, tapsFirst ? [2, 2, 2, 2, c, m] : [2, 2, c, 2, 2, m]);
  // to [m, c, u, a, v, b]
  const perm = tapsFirst ? [5, 4, 0, 2, 1, 3] : [5, 2, 3, 0, 4, 1];
  return T.reshape(T.transpose(split, perm), [m, c, 4, 4]);
}

function formulaF(x: Tensor, dy: Tensor): Tensor {
  const s = spaceToDepth(x);
  const oneHot = new Float32Array(4 * 4);
  for (let k = 0; k < 4; k++) oneHot[k * 4 + k] = 1;
  const cols = T.emit(
    "Conv",
    [T.reshape(s, [n * 4 * c, 1, ho + 1, ho + 1]), T.constant(oneHot, [4, 1, 2, 2])],
    {
      strides: [1, 1],
      dilations: [1, 1],
      pads: [0, 0, 0, 0],
      group: 1,
      kernel_shape: [2, 2],
    },
  )[0]; // [N·4C, 4, Ho, Wo]
  const dyT = T.transpose(T.reshape(dy, [n, m, ho * ho]), [0, 2, 1]);
  const prod = T.sum(T.matMul(T.reshape(cols, [n, c * 16, ho * ho]), dyT), 0);
  return reorderWeightGrad(prod, false);
}

function formulaG(x: Tensor, dy: Tensor): Tensor {
  const s = spaceToDepth(x);
  const parts: Tensor[] = [];
  for (let u = 0; u < 2; u++)
    for (let v = 0; v < 2; v++)
      parts.push(
        T.slice(s, [
          { axis: 2, start: u, end: u + ho },
          { axis: 3, start: v, end: v + ho },
        ]),
      );
  const cols = T.reshape(T.concat(parts, 1), [n, c * 16, ho * ho]);
  const dyT = T.transpose(T.reshape(dy, [n, m, ho * ho]), [0, 2, 1]);
  return reorderWeightGrad(T.sum(T.matMul(cols, dyT), 0), true);
}

function formulaH(x: Tensor, dy: Tensor): Tensor {
  const oneHot = new Float32Array(16 * 16);
  for (let k = 0; k < 16; k++) oneHot[k * 16 + k] = 1;
  const cols = T.emit("Conv", [T.reshape(x, [n * c, 1, h, h]), T.constant(oneHot, [16, 1, 4, 4])], {
    strides: [2, 2],
    dilations: [1, 1],
    pads: [1, 1, 1, 1],
    group: 1,
    kernel_shape: [4, 4],
  })[0]; // [N·C, 16, Ho, Wo]
  const p = ho * ho;
  const colsT = T.reshape(T.transpose(T.reshape(cols, [n, c * 16, p]), [1, 0, 2]), [c * 16, n * p]);
  const dyT = T.transpose(T.reshape(T.transpose(T.reshape(dy, [n, m, p]), [1, 0, 2]), [m, n * p]), [1, 0]);
  return T.reshape(T.transpose(T.matMul(colsT, dyT), [1, 0]), [m, c, 4, 4]);
}

function formulaB(x: Tensor, dy: Tensor): Tensor {
  const xp = T.pad(x, [0, 0, 1, 1, 0, 0, 1, 1]);
  const patches: Tensor[] = [];
  for (let ky = 0; ky < 4; ky++) {
    for (let kx = 0; kx < 4; kx++) {
      const s = T.slice(xp, [
        { axis: 2, start: ky, end: ky + 2 * (ho - 1) + 1, step: 2 },
        { axis: 3, start: kx, end: kx + 2 * (ho - 1) + 1, step: 2 },
      ]);
      patches.push(T.reshape(s, [n, c, 1, ho * ho]));
    }
  }
  const cols = T.reshape(T.concat(patches, 2), [n, c * 16, ho * ho]); // [N, (c, ky, kx), pixels]
  const dyT = T.transpose(T.reshape(dy, [n, m, ho * ho]), [0, 2, 1]); // [N, pixels, M]
  const prod = T.sum(T.matMul(cols, dyT), 0); // [(c, ky, kx), M]
  return T.reshape(T.transpose(prod, [1, 0]), [m, c, 4, 4]);
}

async function time(name: string, f: (x: Tensor, dy: Tensor) => Tensor, xs: Float32Array, dys: Float32Array) {
  const { graph, result } = trace(() => {
    const x = T.input("x", [n, c, h, h]);
    const dy = T.input("dy", [n, m, ho, ho]);
    return f(x, dy);
  });
  const session = await ort.InferenceSession.create(toOnnx(graph, [{ name: "dw", tensor: result }]), {
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  const feeds = {
    x: new ort.Tensor("float32", xs, [n, c, h, h]),
    dy: new ort.Tensor("float32", dys, [n, m, ho, ho]),
  };
  let out = (await session.run(feeds)).dw.data as Float32Array;
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    out = (await session.run(feeds)).dw.data as Float32Array;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`${name}: median ${times[15].toFixed(2)} ms, min ${times[0].toFixed(2)} ms`);
  return out;
}

const xs = Float32Array.from({ length: n * c * h * h }, (_, i) => Math.sin(i * 0.37));
const dys = Float32Array.from({ length: n * m * ho * ho }, (_, i) => Math.cos(i * 0.11));
console.log(`weight gradient of Conv 4×4 s2 p1, x [${n}, ${c}, ${h}, ${h}], dy [${n}, ${m}, ${ho}, ${ho}]`);
const a = await time("A (dilated Conv, rules.ts)", formulaA, xs, dys);
const b = await time("B (im2col Slices + batched MatMul)", formulaB, xs, dys);
const e = await time("E (one-hot Conv im2col + batched MatMul)", formulaE, xs, dys);
const hh = await time("H (one-hot Conv im2col + one MatMul over N·P)", formulaH, xs, dys);
const e3 = await time("E again", formulaE, xs, dys);
const h2 = await time("H again", formulaH, xs, dys);
for (const [name, r] of [
  ["H", hh],
  ["H again", h2],
  ["E again", e3],
] as const) {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - r[i]));
  console.log(`max |A - ${name}| = ${d.toExponential(2)}`);
}
if (process.env.PROTO_H_ONLY) process.exit(0);
const f = await time("F (space-to-depth + 4-tap one-hot Conv im2col + batched MatMul)", formulaF, xs, dys);
const gg = await time("G (space-to-depth + 4 Slices/Concat im2col + batched MatMul)", formulaG, xs, dys);
const e2 = await time("E again", formulaE, xs, dys);
const f2 = await time("F again", formulaF, xs, dys);
for (const [name, r] of [
  ["F", f],
  ["G", gg],
  ["E again", e2],
  ["F again", f2],
] as const) {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - r[i]));
  console.log(`max |A - ${name}| = ${d.toExponential(2)}`);
}
let maxDiffE = 0;
for (let i = 0; i < a.length; i++) maxDiffE = Math.max(maxDiffE, Math.abs(a[i] - e[i]));
console.log(`max |A - E| = ${maxDiffE.toExponential(2)}`);
let maxDiff = 0;
let maxAbs = 0;
for (let i = 0; i < a.length; i++) {
  maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  maxAbs = Math.max(maxAbs, Math.abs(a[i]));
}
console.log(`max |A - B| = ${maxDiff.toExponential(2)} (max |A| = ${maxAbs.toFixed(1)})`);
