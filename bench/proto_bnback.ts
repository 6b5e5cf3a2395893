/**
 * Prototype for issue 23 (not part of `bench:engine`): the element-wise backward of batch norm + ReLU /
 * LeakyReLU(0.2) on the reference autoencoder's largest activation ([16, 32, 64, 64] at 128 px, batch
 * 16), written several ways and timed on ONNX Runtime (2 threads, spinning off), variants interleaved.
 *
 *   relu.where    Where(Greater(x, 0), g, 0)                    (the rule today)
 *   relu.mask     Mul(g, Max(Sign(x), 0))
 *   lrelu.where   Where(Greater(x, 0), g, Mul(g, 0.2))           (the rule today)
 *   lrelu.mask    Mul(g, Max(Sign(x), 0.2))
 *   bn.today      the closed form of rules.ts: dγ = Σ g·x̂, dβ = Σ g, dx = g·k − (x̂·slope + offset)
 *   bn.regroup    dx = (g − x̂·a − b)·k with a = mean(g·x̂), b = mean(g): one Mul fewer on full tensors
 *
 * Usage: node .bench/bench/proto_bnback.js
 */
import onnxProto from "onnx-proto";
import ort from "onnxruntime-node";
import { encodeModel } from "../src/engine/onnx.js";

const { onnx } = onnxProto;
const F = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;
const shape = [16, 32, 64, 64];
const per = [1, 32, 1, 1];

type NodeSpec = { op: string; inputs: string[]; output: string; attrs?: Record<string, number | number[]> };

function model(nodes: NodeSpec[], inputs: Record<string, number[]>, outputs: Record<string, number[]>) {
  const A = onnx.AttributeProto.AttributeType;
  const vi = (name: string, s: number[]) => ({
    name,
    type: { tensorType: { elemType: F, shape: { dim: s.map((d) => ({ dimValue: d })) } } },
  });
  const scalar = (name: string, v: number) => ({ name, dims: [], dataType: F, floatData: [v] });
  const graph = onnx.GraphProto.create({
    name: "proto",
    node: nodes.map((nd, i) => ({
      name: `n${i}`,
      opType: nd.op,
      input: nd.inputs,
      output: [nd.output],
      attribute: Object.entries(nd.attrs ?? {}).map(([k, v]) =>
        Array.isArray(v) ? { name: k, type: A.INTS, ints: v } : { name: k, type: A.INT, i: v },
      ),
    })),
    initializer: [
      scalar("zero", 0),
      scalar("alpha", 0.2),
      scalar("count", shape[0] * shape[2] * shape[3]),
      {
        name: "axes",
        dims: [3],
        dataType: I64,
        rawData: new Uint8Array(BigInt64Array.from([0n, 2n, 3n]).buffer),
      },
    ],
    input: Object.entries(inputs).map(([n, s]) => vi(n, s)),
    output: Object.entries(outputs).map(([n, s]) => vi(n, s)),
  });
  return encodeModel(graph);
}

const xg = { x: shape, g: shape };
const out = { y: shape };
const bnInputs = { g: shape, xhat: shape, k: per };
const bnOutputs = { y: shape, dgamma: per, dbeta: per };
const red = (input: string, output: string): NodeSpec => ({
  op: "ReduceSum",
  inputs: [input, "axes"],
  output,
  attrs: { keepdims: 1 },
});
const variants: Record<string, { bytes: Uint8Array; inputs: string[] }> = {
  "relu.where": {
    bytes: model(
      [
        { op: "Greater", inputs: ["x", "zero"], output: "c" },
        { op: "Where", inputs: ["c", "g", "zero"], output: "y" },
      ],
      xg,
      out,
    ),
    inputs: ["x", "g"],
  },
  "relu.mask": {
    bytes: model(
      [
        { op: "Sign", inputs: ["x"], output: "s" },
        { op: "Max", inputs: ["s", "zero"], output: "m" },
        { op: "Mul", inputs: ["g", "m"], output: "y" },
      ],
      xg,
      out,
    ),
    inputs: ["x", "g"],
  },
  "lrelu.where": {
    bytes: model(
      [
        { op: "Greater", inputs: ["x", "zero"], output: "c" },
        { op: "Mul", inputs: ["g", "alpha"], output: "ga" },
        { op: "Where", inputs: ["c", "g", "ga"], output: "y" },
      ],
      xg,
      out,
    ),
    inputs: ["x", "g"],
  },
  "lrelu.mask": {
    bytes: model(
      [
        { op: "Sign", inputs: ["x"], output: "s" },
        { op: "Max", inputs: ["s", "alpha"], output: "m" },
        { op: "Mul", inputs: ["g", "m"], output: "y" },
      ],
      xg,
      out,
    ),
    inputs: ["x", "g"],
  },
  "bn.today": {
    bytes: model(
      [
        { op: "Mul", inputs: ["g", "xhat"], output: "gx" },
        red("gx", "dgamma"),
        red("g", "dbeta"),
        { op: "Div", inputs: ["dgamma", "count"], output: "a" },
        { op: "Div", inputs: ["dbeta", "count"], output: "b" },
        { op: "Mul", inputs: ["k", "a"], output: "slope" },
        { op: "Mul", inputs: ["k", "b"], output: "offset" },
        { op: "Mul", inputs: ["g", "k"], output: "gk" },
        { op: "Mul", inputs: ["xhat", "slope"], output: "xs" },
        { op: "Add", inputs: ["xs", "offset"], output: "xso" },
        { op: "Sub", inputs: ["gk", "xso"], output: "y" },
      ],
      bnInputs,
      bnOutputs,
    ),
    inputs: ["g", "xhat", "k"],
  },
  "bn.regroup": {
    bytes: model(
      [
        { op: "Mul", inputs: ["g", "xhat"], output: "gx" },
        red("gx", "dgamma"),
        red("g", "dbeta"),
        { op: "Div", inputs: ["dgamma", "count"], output: "a" },
        { op: "Div", inputs: ["dbeta", "count"], output: "b" },
        { op: "Mul", inputs: ["xhat", "a"], output: "xa" },
        { op: "Sub", inputs: ["g", "xa"], output: "d1" },
        { op: "Sub", inputs: ["d1", "b"], output: "d2" },
        { op: "Mul", inputs: ["d2", "k"], output: "y" },
      ],
      bnInputs,
      bnOutputs,
    ),
    inputs: ["g", "xhat", "k"],
  },
};

const size = shape.reduce((a, d) => a * d, 1);
const data: Record<string, ort.Tensor> = {
  x: new ort.Tensor(
    "float32",
    Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37)),
    shape,
  ),
  xhat: new ort.Tensor(
    "float32",
    Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.71)),
    shape,
  ),
  g: new ort.Tensor(
    "float32",
    Float32Array.from({ length: size }, (_, i) => Math.cos(i * 0.11)),
    shape,
  ),
  k: new ort.Tensor(
    "float32",
    Float32Array.from({ length: 32 }, (_, i) => 1 + i / 32),
    per,
  ),
};
const sessions: Record<string, ort.InferenceSession> = {};
for (const [name, v] of Object.entries(variants))
  sessions[name] = await ort.InferenceSession.create(v.bytes, {
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    extra: { session: { "intra_op.allow_spinning": "0" } },
  });
const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((n) => [n, []]));
const results: Record<string, Float32Array> = {};
for (let round = 0; round < 40; round++) {
  for (const [name, v] of Object.entries(variants)) {
    const feeds = Object.fromEntries(v.inputs.map((i) => [i, data[i]]));
    const t0 = performance.now();
    const r = await sessions[name].run(feeds);
    if (round > 0) times[name].push(performance.now() - t0);
    results[name] = r.y.data as Float32Array;
  }
}
const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
for (const [name, t] of Object.entries(times)) {
  t.sort((a, b) => a - b);
  const ref =
    results[name.startsWith("relu") ? "relu.where" : name.startsWith("lrelu") ? "lrelu.where" : "bn.today"];
  console.log(
    `${name}: median ${t[t.length >> 1].toFixed(2)} ms, q1 ${t[t.length >> 2].toFixed(2)} ms, max diff ${maxDiff(results[name], ref).toExponential(1)}`,
  );
}
