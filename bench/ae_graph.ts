/**
 * The reference autoencoder of docs/engine.md §2 (methods.md §2.1) traced with the engine's tensor API,
 * for the benchmark only: a training-step graph (forward in train mode, MSE, reverse-mode gradients,
 * Adam with PyTorch semantics, batch-norm running statistics) and an inference graph (eval mode).
 *
 * It is built from public engine pieces (api, trace, grad, toOnnx) so that the benchmark can run and
 * set ONNX Runtime session options itself (profiling, optimisation levels) independently of the
 * project's `compileStep`. The graph it produces has the same structure `compileStep` traces: every
 * parameter, optimiser moment and running statistic is a graph input whose next value is an output,
 * so the host double-buffers them without copies.
 */
import * as T from "../src/engine/api.js";
import { grad } from "../src/engine/autodiff/grad.js";
import { type Tensor, trace, withScope } from "../src/engine/ir.js";
import { toOnnx } from "../src/engine/onnx.js";

/** One named graph input with its shape and initial value. */
export interface StateSpec {
  name: string;
  shape: number[];
  init: Float32Array;
  /** What kind of state: trained parameter, optimiser moment, BN running statistic. */
  kind: "param" | "moment" | "running";
}

export interface BuiltGraph {
  model: Uint8Array;
  /** Inputs other than the image batch and the scalars, in feed order. */
  state: StateSpec[];
  /** Output name carrying the next value of each state input (training graph only). */
  next: Record<string, string>;
  scalars: string[];
  inputShape: number[];
  outputNames: string[];
  parameterCount: number;
  nodeCount: number;
}

/** A small deterministic generator (mulberry32) for initial weights; speed does not depend on them. */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Layer {
  name: string;
  kind: "conv" | "convT";
  cin: number;
  cout: number;
  bias: boolean;
  bn: boolean;
  act: "lrelu" | "relu" | "sigmoid";
}

const layers: Layer[] = [
  { name: "e1", kind: "conv", cin: 1, cout: 32, bias: true, bn: false, act: "lrelu" },
  { name: "e2", kind: "conv", cin: 32, cout: 64, bias: false, bn: true, act: "lrelu" },
  { name: "e3", kind: "conv", cin: 64, cout: 128, bias: false, bn: true, act: "lrelu" },
  { name: "e4", kind: "conv", cin: 128, cout: 256, bias: false, bn: true, act: "lrelu" },
  { name: "d1", kind: "convT", cin: 256, cout: 128, bias: false, bn: true, act: "relu" },
  { name: "d2", kind: "convT", cin: 128, cout: 64, bias: false, bn: true, act: "relu" },
  { name: "d3", kind: "convT", cin: 64, cout: 32, bias: false, bn: true, act: "relu" },
  { name: "d4", kind: "convT", cin: 32, cout: 1, bias: true, bn: false, act: "sigmoid" },
];

/** Parameters and BN buffers with PyTorch-like initial values (U(±1/√fan_in), γ=1, β=0, var=1). */
function stateSpecs(): StateSpec[] {
  const rand = uniform(12345);
  const out: StateSpec[] = [];
  const filled = (n: number, v: number) => new Float32Array(n).fill(v);
  for (const l of layers) {
    const shape = l.kind === "conv" ? [l.cout, l.cin, 4, 4] : [l.cin, l.cout, 4, 4];
    const fanIn = shape[1] * 16;
    const bound = 1 / Math.sqrt(fanIn);
    const size = shape.reduce((a, d) => a * d, 1);
    const w = Float32Array.from({ length: size }, () => (rand() * 2 - 1) * bound);
    out.push({ name: `${l.name}.weight`, shape, init: w, kind: "param" });
    if (l.bias) {
      const b = Float32Array.from({ length: l.cout }, () => (rand() * 2 - 1) * bound);
      out.push({ name: `${l.name}.bias`, shape: [l.cout], init: b, kind: "param" });
    }
    if (l.bn) {
      out.push({ name: `${l.name}.bn.weight`, shape: [l.cout], init: filled(l.cout, 1), kind: "param" });
      out.push({ name: `${l.name}.bn.bias`, shape: [l.cout], init: filled(l.cout, 0), kind: "param" });
      out.push({
        name: `${l.name}.bn.running_mean`,
        shape: [l.cout],
        init: filled(l.cout, 0),
        kind: "running",
      });
      out.push({
        name: `${l.name}.bn.running_var`,
        shape: [l.cout],
        init: filled(l.cout, 1),
        kind: "running",
      });
    }
  }
  return out;
}

/** Batch norm (PyTorch semantics: eps 1e-5, momentum 0.1, unbiased running variance). */
function batchNorm(
  x: Tensor,
  p: Record<string, Tensor>,
  name: string,
  training: boolean,
  updates: Map<string, Tensor>,
): Tensor {
  const c = x.shape[1];
  const bshape = [1, c, 1, 1];
  const gamma = T.reshape(p[`${name}.bn.weight`], bshape);
  const beta = T.reshape(p[`${name}.bn.bias`], bshape);
  let mean: Tensor;
  let variance: Tensor;
  if (training) {
    mean = T.mean(x, [0, 2, 3], true);
    const centred = T.sub(x, mean);
    variance = T.mean(T.square(centred), [0, 2, 3], true);
    const count = x.size / c;
    const rm = p[`${name}.bn.running_mean`];
    const rv = p[`${name}.bn.running_var`];
    const batchMean = T.stopGradient(T.reshape(mean, [c]));
    const batchVar = T.stopGradient(T.reshape(T.mul(variance, count / (count - 1)), [c]));
    updates.set(`${name}.bn.running_mean`, T.add(T.mul(rm, 0.9), T.mul(batchMean, 0.1)));
    updates.set(`${name}.bn.running_var`, T.add(T.mul(rv, 0.9), T.mul(batchVar, 0.1)));
    const normed = T.mul(centred, T.rsqrt(T.add(variance, 1e-5)));
    return T.add(T.mul(normed, gamma), beta);
  }
  mean = T.reshape(p[`${name}.bn.running_mean`], bshape);
  variance = T.reshape(p[`${name}.bn.running_var`], bshape);
  return T.add(T.mul(T.mul(T.sub(x, mean), T.rsqrt(T.add(variance, 1e-5))), gamma), beta);
}

function forward(
  x: Tensor,
  p: Record<string, Tensor>,
  training: boolean,
  updates: Map<string, Tensor>,
): Tensor {
  let h = x;
  for (const l of layers) {
    h = withScope(`forward/${l.name}`, () => {
      const w = p[`${l.name}.weight`];
      const b = l.bias ? p[`${l.name}.bias`] : undefined;
      let y =
        l.kind === "conv"
          ? T.conv2d(h, w, b, { stride: 2, padding: 1 })
          : T.convTranspose2d(h, w, b, { stride: 2, padding: 1 });
      if (l.bn) y = batchNorm(y, p, l.name, training, updates);
      return l.act === "lrelu" ? T.leakyRelu(y, 0.2) : l.act === "relu" ? T.relu(y) : T.sigmoid(y);
    });
  }
  return h;
}

/**
 * Training step graph for `batch` images of `size`² pixels: outputs the loss and the next value of
 * every parameter, Adam moment and running statistic (Adam as src/nn/optim.ts: step_size and
 * bias_correction2_sqrt are scalar inputs computed on the host).
 */
export function buildTrainStep(size: number, batch: number): BuiltGraph {
  const params = stateSpecs();
  const state: StateSpec[] = [...params];
  for (const p of params.filter((s) => s.kind === "param")) {
    for (const m of ["exp_avg", "exp_avg_sq"]) {
      state.push({
        name: `${p.name}.${m}`,
        shape: p.shape,
        init: new Float32Array(p.init.length),
        kind: "moment",
      });
    }
  }
  const scalars = ["step_size", "bias_correction2_sqrt"];
  const inputShape = [batch, 1, size, size];
  const next: Record<string, string> = {};
  const { graph, result } = trace(() => {
    const x = T.input("x", inputShape);
    const t: Record<string, Tensor> = {};
    for (const s of state) t[s.name] = T.input(s.name, s.shape);
    const sc: Record<string, Tensor> = {};
    for (const s of scalars) sc[s] = T.input(s, []);
    const updates = new Map<string, Tensor>();
    const y = forward(x, t, true, updates);
    const loss = withScope("loss", () => T.mean(T.square(T.sub(y, x))));
    const trainable = params.filter((s) => s.kind === "param");
    const grads = grad(
      loss,
      trainable.map((s) => t[s.name]),
    );
    const outputs: Record<string, Tensor> = { loss };
    trainable.forEach((s, i) => {
      withScope("adam", () => {
        const g = grads[i];
        const m = t[`${s.name}.exp_avg`];
        const v = t[`${s.name}.exp_avg_sq`];
        const nextM = T.add(T.mul(m, 0.9), T.mul(g, 0.1));
        const nextV = T.add(T.mul(v, 0.999), T.mul(T.square(g), 0.001));
        const denom = T.add(T.div(T.sqrt(nextV), sc.bias_correction2_sqrt), 1e-8);
        outputs[`next.${s.name}`] = T.sub(t[s.name], T.mul(T.div(nextM, denom), sc.step_size));
        outputs[`next.${s.name}.exp_avg`] = nextM;
        outputs[`next.${s.name}.exp_avg_sq`] = nextV;
      });
    });
    for (const [name, value] of updates) outputs[`next.${name}`] = value;
    return outputs;
  });
  for (const s of state) next[s.name] = `next.${s.name}`;
  const named = Object.entries(result).map(([name, tensor]) => ({ name, tensor }));
  return {
    model: toOnnx(graph, named),
    state,
    next,
    scalars,
    inputShape,
    outputNames: named.map((o) => o.name),
    parameterCount: params.filter((s) => s.kind === "param").reduce((a, s) => a + s.init.length, 0),
    nodeCount: graph.nodes.length,
  };
}

/** Inference graph (eval mode: running statistics), parameters as inputs. */
export function buildInference(size: number, batch: number): BuiltGraph {
  const state = stateSpecs();
  const inputShape = [batch, 1, size, size];
  const { graph, result } = trace(() => {
    const x = T.input("x", inputShape);
    const t: Record<string, Tensor> = {};
    for (const s of state) t[s.name] = T.input(s.name, s.shape);
    return { y: forward(x, t, false, new Map()) };
  });
  return {
    model: toOnnx(graph, [{ name: "y", tensor: result.y }]),
    state,
    next: {},
    scalars: [],
    inputShape,
    outputNames: ["y"],
    parameterCount: state.filter((s) => s.kind === "param").reduce((a, s) => a + s.init.length, 0),
    nodeCount: graph.nodes.length,
  };
}
