/**
 * Prototype for issue 23 (not part of `bench:engine`): a stride-2 4×4 pad-1 ConvTranspose (the reference
 * autoencoder's decoder layers and the input gradients of its encoder convolutions) written four ways and
 * timed on ONNX Runtime, weights fed as graph inputs as in a training step.
 *
 *   A. ConvTranspose (ORT's kernel: GEMM + col2im).
 *   B. Phase decomposition: one stride-1 Conv with 2×2 sub-kernels and 4·M output channels over the input
 *      padded by 1 (output (H+1)×(W+1)), interleaved by Reshape/Transpose/Reshape (depth-to-space) and
 *      cropped by one row and column (Slice).
 *   C. As B with ONNX DepthToSpace (DCR) for the interleave.
 *   D. Four stride-1 Convs (one per output phase, each with its own pads, output H×W), Concat, DepthToSpace.
 * The weight rearrangement (Reshape, Transpose, a flipping Slice, Reshape) is inside every graph of B–D.
 *
 * Usage: node .bench/bench/proto_convt.js [N] (default 16; the four layer shapes of the AE at 128 px).
 */
import onnxProto from "onnx-proto";
import ort from "onnxruntime-node";
import { encodeModel } from "../src/engine/onnx.js";

const { onnx } = onnxProto;
const n = Number(process.argv[2] ?? 16);
const F = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;

type NodeSpec = {
  op: string;
  inputs: string[];
  output: string;
  attrs?: Record<string, number | number[] | string>;
};

function model(
  nodes: NodeSpec[],
  consts: Record<string, number[]>,
  xShape: number[],
  wShape: number[],
  yShape: number[],
) {
  const attr = (name: string, v: number | number[] | string) => {
    const A = onnx.AttributeProto.AttributeType;
    if (typeof v === "string") return { name, type: A.STRING, s: new TextEncoder().encode(v) };
    if (Array.isArray(v)) return { name, type: A.INTS, ints: v };
    return { name, type: A.INT, i: v };
  };
  const vi = (name: string, shape: number[]) => ({
    name,
    type: { tensorType: { elemType: F, shape: { dim: shape.map((d) => ({ dimValue: d })) } } },
  });
  const graph = onnx.GraphProto.create({
    name: "proto",
    node: nodes.map((nd, i) => ({
      name: `n${i}`,
      opType: nd.op,
      input: nd.inputs,
      output: [nd.output],
      attribute: Object.entries(nd.attrs ?? {}).map(([k, v]) => attr(k, v)),
    })),
    initializer: Object.entries(consts).map(([name, v]) => ({
      name,
      dims: [v.length],
      dataType: I64,
      rawData: new Uint8Array(BigInt64Array.from(v, (x) => BigInt(x)).buffer),
    })),
    input: [vi("x", xShape), vi("w", wShape)],
    output: [vi("y", yShape)],
  });
  return encodeModel(graph);
}

/** w [C, M, 4, 4] → W' [(vy, vx, m), C, 2, 2] with W'[v, t] = w[2(1 − t) + v] per axis. */
function weightNodes(c: number, m: number): { nodes: NodeSpec[]; consts: Record<string, number[]> } {
  return {
    nodes: [
      { op: "Reshape", inputs: ["w", "w6"], output: "wr" },
      { op: "Transpose", inputs: ["wr"], output: "wt", attrs: { perm: [3, 5, 1, 0, 2, 4] } },
      { op: "Slice", inputs: ["wt", "fs", "fe", "fa", "fst"], output: "wf" },
      { op: "Reshape", inputs: ["wf", "w4"], output: "wp" },
    ],
    consts: {
      w6: [c, m, 2, 2, 2, 2],
      fs: [-1, -1],
      fe: [-(2 ** 62), -(2 ** 62)],
      fa: [4, 5],
      fst: [-1, -1],
      w4: [4 * m, c, 2, 2],
    },
  };
}

function variants(c: number, m: number, h: number) {
  const w = weightNodes(c, m);
  const conv = (out: string, pads: number[], input = "wp") => ({
    op: "Conv",
    inputs: ["x", input],
    output: out,
    attrs: { kernel_shape: [2, 2], pads, strides: [1, 1] },
  });
  const crop = { op: "Slice", inputs: ["d", "cs", "ce", "ca"], output: "y" };
  const cropConsts = { cs: [1, 1], ce: [2 * h + 1, 2 * h + 1], ca: [2, 3] };
  return {
    "A ConvTranspose": model(
      [
        {
          op: "ConvTranspose",
          inputs: ["x", "w"],
          output: "y",
          attrs: { kernel_shape: [4, 4], pads: [1, 1, 1, 1], strides: [2, 2] },
        },
      ],
      {},
      [n, c, h, h],
      [c, m, 4, 4],
      [n, m, 2 * h, 2 * h],
    ),
    "B phase Conv + Reshape/Transpose + Slice": model(
      [
        ...w.nodes,
        conv("z", [1, 1, 1, 1]),
        { op: "Reshape", inputs: ["z", "z6"], output: "zr" },
        { op: "Transpose", inputs: ["zr"], output: "zt", attrs: { perm: [0, 3, 4, 1, 5, 2] } },
        { op: "Reshape", inputs: ["zt", "d4"], output: "d" },
        crop,
      ],
      { ...w.consts, ...cropConsts, z6: [n, 2, 2, m, h + 1, h + 1], d4: [n, m, 2 * h + 2, 2 * h + 2] },
      [n, c, h, h],
      [c, m, 4, 4],
      [n, m, 2 * h, 2 * h],
    ),
    "C phase Conv + DepthToSpace + Slice": model(
      [
        ...w.nodes,
        conv("z", [1, 1, 1, 1]),
        { op: "DepthToSpace", inputs: ["z"], output: "d", attrs: { blocksize: 2, mode: "DCR" } },
        crop,
      ],
      { ...w.consts, ...cropConsts },
      [n, c, h, h],
      [c, m, 4, 4],
      [n, m, 2 * h, 2 * h],
    ),
    "D 4 Convs + Concat + DepthToSpace": model(
      [
        ...w.nodes,
        ...[0, 1, 2, 3].map((phase) => ({
          op: "Slice",
          inputs: ["wp", `s${phase}`, `e${phase}`, "a0"],
          output: `wq${phase}`,
        })),
        ...[0, 1, 2, 3].map((phase) => {
          const [ay, ax] = [phase >> 1, phase & 1];
          // phase a = 0 is the odd output row (pads 0 before, 1 after), a = 1 the even one (1 before).
          return conv(`z${phase}`, [ay, ax, 1 - ay, 1 - ax], `wq${phase}`);
        }),
        // Output row 2q is phase a = 1 (even), 2q + 1 phase a = 0: DCR block (by, bx) takes phase 3 − (2·by + bx).
        { op: "Concat", inputs: ["z3", "z2", "z1", "z0"], output: "zc", attrs: { axis: 1 } },
        { op: "DepthToSpace", inputs: ["zc"], output: "y", attrs: { blocksize: 2, mode: "DCR" } },
      ],
      {
        ...w.consts,
        a0: [0],
        ...Object.fromEntries(
          [0, 1, 2, 3].flatMap((p) => [
            [`s${p}`, [p * m]],
            [`e${p}`, [(p + 1) * m]],
          ]),
        ),
      },
      [n, c, h, h],
      [c, m, 4, 4],
      [n, m, 2 * h, 2 * h],
    ),
  };
}

async function session(bytes: Uint8Array) {
  return ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    extra: { session: { "intra_op.allow_spinning": "0" } },
  });
}

for (const [c, m, h] of [
  [256, 128, 8],
  [128, 64, 16],
  [64, 32, 32],
  [32, 1, 64],
]) {
  const xs = Float32Array.from({ length: n * c * h * h }, (_, i) => Math.sin(i * 0.37));
  const ws = Float32Array.from({ length: c * m * 16 }, (_, i) => Math.cos(i * 0.11));
  const feeds = {
    x: new ort.Tensor("float32", xs, [n, c, h, h]),
    w: new ort.Tensor("float32", ws, [c, m, 4, 4]),
  };
  const flops = 2 * n * c * m * 16 * h * h;
  const all = Object.entries(variants(c, m, h));
  const sessions = await Promise.all(all.map(([, bytes]) => session(bytes)));
  const times: number[][] = all.map(() => []);
  const outs: Float32Array[] = [];
  // Variants interleaved: round r runs each once (round 0 untimed).
  for (let round = 0; round < 21; round++) {
    for (let v = 0; v < all.length; v++) {
      const t0 = performance.now();
      outs[v] = (await sessions[v].run(feeds)).y.data as Float32Array;
      if (round > 0) times[v].push(performance.now() - t0);
    }
  }
  const line = all.map(([name], v) => {
    const t = times[v].sort((a, b) => a - b);
    let diff = 0;
    for (let i = 0; i < outs[v].length; i++) diff = Math.max(diff, Math.abs(outs[v][i] - outs[0][i]));
    return `${name}: median ${t[10].toFixed(2)} ms, q1 ${t[5].toFixed(2)} ms (${(flops / t[10] / 1e6).toFixed(0)} GFLOP/s, max diff ${diff.toExponential(1)})`;
  });
  console.log(`x [${n}, ${c}, ${h}, ${h}] → [${n}, ${m}, ${2 * h}, ${2 * h}]\n  ${line.join("\n  ")}`);
}
