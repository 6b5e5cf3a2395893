/**
 * Recomputed activations (autodiff/grad.ts `recompute`, rules.ts `recomputeRules`): in conv → batch
 * norm → activation → conv, the backward pass reads a copy of the activation recomputed from x̂, not
 * the forward's value; the copy equals the forward bit for bit on ONNX Runtime; sessions with
 * `recomputeSessionConfig` keep the copy (ORT's common-subexpression elimination, which would merge
 * it back, is off); the gradients still equal central finite differences; and a training step with
 * recomputation updates its parameters bit for bit as one without.
 */
import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/api.js";
import { grad } from "../../src/engine/autodiff/grad.js";
import { type Node, type Tensor, trace } from "../../src/engine/ir.js";
import { Module } from "../../src/engine/module.js";
import { buildGraphProto, encodeModel } from "../../src/engine/onnx.js";
import {
  CompiledGraph,
  type RuntimeOptions,
  recomputeSessionConfig,
  sessionOptions,
  trainingRuntimeDefaults,
} from "../../src/engine/runtime.js";
import { compileStep } from "../../src/engine/step.js";
import { BatchNorm2d, Conv2d } from "../../src/nn/layers.js";
import { Adam } from "../../src/nn/optim.js";
import { Random } from "../../src/util/random.js";
import { randn, uniform, vjpMatches } from "./helpers.js";
import { images } from "./step-model.js";

const { onnx } = onnxProto;

type Activation = "Relu" | "LeakyRelu";

/** conv 3×3 → batch norm (batch statistics) → activation → conv 3×3 → mean square. */
function convBnActConv(x: Tensor, w1: Tensor, gamma: Tensor, beta: Tensor, w2: Tensor, act: Activation) {
  const h = T.conv2d(x, w1, undefined, { padding: 1 });
  const perChannel = [1, gamma.size, 1, 1];
  const { y } = T.batchNormTrain(
    h,
    T.reshape(gamma, perChannel),
    T.reshape(beta, perChannel),
    [0, 2, 3],
    1e-5,
  );
  const a = act === "Relu" ? T.relu(y) : T.leakyRelu(y, 0.2);
  return { a, out: T.conv2d(a, w2, undefined, { padding: 1 }) };
}

const shapes = { x: [4, 3, 6, 6], w1: [5, 3, 3, 3], gamma: [5], beta: [5], w2: [2, 5, 3, 3] } as const;

function traceStep(act: Activation) {
  return trace(() => {
    const [x, w1, gamma, beta, w2] = Object.entries(shapes).map(([name, shape]) => T.input(name, shape));
    const { a, out } = convBnActConv(x, w1, gamma, beta, w2, act);
    const loss = T.mean(T.square(out));
    const backwardFrom = loss.graph.nodes.length;
    const grads = grad(loss, [w1, gamma, beta, w2], { recompute: true });
    return { a, loss, grads, backward: loss.graph.nodes.slice(backwardFrom) };
  });
}

const feeds = () => ({
  x: randn(1, shapes.x).data,
  w1: randn(2, shapes.w1, 0.3).data,
  gamma: uniform(3, shapes.gamma, 0.5, 1.5).data,
  beta: randn(4, shapes.beta, 0.3).data,
  w2: randn(5, shapes.w2, 0.3).data,
});

const float32Feeds = () =>
  Object.fromEntries(Object.entries(feeds()).map(([k, v]) => [k, Float32Array.from(v as ArrayLike<number>)]));

/** Op types of the graph ORT runs for `outputs` under `options` (its optimised model, saved to a file). */
async function optimisedOps(
  graph: ReturnType<typeof traceStep>["graph"],
  outputs: Record<string, Tensor>,
  options: RuntimeOptions,
): Promise<string[]> {
  const file = join(await mkdtemp(join(tmpdir(), "recompute-")), "optimised.onnx");
  const named = Object.entries(outputs).map(([name, tensor]) => ({ name, tensor }));
  const session = await ort.InferenceSession.create(encodeModel(buildGraphProto(graph, named)), {
    ...sessionOptions(options),
    optimizedModelFilePath: file,
  });
  await session.release();
  return (onnx.ModelProto.decode(readFileSync(file)).graph?.node ?? []).map((n) => n.opType ?? "");
}

describe.each<Activation>(["Relu", "LeakyRelu"])("recomputed %s after batch norm", (act) => {
  it("the backward pass never reads the forward's activation; it reads its own copy", () => {
    const { result } = traceStep(act);
    const readers = result.backward.filter((n: Node) => n.inputs.includes(result.a));
    expect(readers.map((n) => n.op)).toEqual([]);
    const copies = result.backward.filter((n: Node) => n.op === act);
    expect(copies).toHaveLength(1);
    expect(result.backward.some((n: Node) => n.inputs.includes(copies[0].outputs[0]))).toBe(true);
  });

  it("the copy equals the forward's value bit for bit on ONNX Runtime, in a recomputing session", async () => {
    const { graph, result } = traceStep(act);
    const recomputed = result.backward.find((n: Node) => n.op === act)!.outputs[0];
    const outputs = { forward: result.a, copy: recomputed };
    const compiled = await CompiledGraph.create(graph, outputs, {
      ...trainingRuntimeDefaults(),
      sessionConfig: recomputeSessionConfig(),
    });
    const out = await compiled.run(float32Feeds());
    await compiled.release();
    const [forward, copy] = [out.forward, out.copy] as Float32Array[];
    expect(Array.from(copy)).toEqual(Array.from(forward));
    expect(forward.some((v) => v > 0)).toBe(true);
  });

  it("recomputing sessions keep the copy; ORT's common-subexpression elimination would merge it", async () => {
    const { graph, result } = traceStep(act);
    const outputs = Object.fromEntries(result.grads.map((g, i) => [`grad${i}`, g]));
    const training = trainingRuntimeDefaults();
    const count = (ops: string[]) => ops.filter((op) => op === act).length;
    const recomputing = { ...training, sessionConfig: recomputeSessionConfig() };
    expect(count(await optimisedOps(graph, outputs, recomputing))).toBe(2);
    expect(count(await optimisedOps(graph, outputs, training))).toBe(1);
  });

  it("gradients through the copy equal central finite differences", () => {
    const f = feeds();
    vjpMatches(
      Object.entries(shapes).map(([name, shape]) => ({ shape, data: f[name as keyof typeof f] })),
      (x, w1, gamma, beta, w2) => convBnActConv(x, w1, gamma, beta, w2, act).out,
      { tol: 1e-5 },
    );
  });
});

/** conv 3×3 → BatchNorm2d (batch statistics) → ReLU → conv 3×3, the layers of src/nn. */
class ConvBnReluConv extends Module {
  readonly first: Conv2d;
  readonly norm: BatchNorm2d;
  readonly last: Conv2d;
  constructor(seed: number) {
    super();
    const rng = new Random(seed);
    this.first = this.child("first", new Conv2d(rng, { in: 1, out: 8, kernel: 3, padding: 1, bias: false }));
    this.norm = this.child("norm", new BatchNorm2d(8));
    this.last = this.child("last", new Conv2d(rng, { in: 8, out: 1, kernel: 3, padding: 1 }));
  }
  forward(x: Tensor): Tensor {
    return this.last.forward(T.relu(this.norm.forward(this.first.forward(x))));
  }
}

describe("a training step with recomputation", () => {
  it("updates the parameters bit for bit as the same step without it", async () => {
    const initial = new ConvBnReluConv(1).namedParameters().map(([, p]) => Array.from(p.value));
    const train = async (recompute: boolean) => {
      const model = new ConvBnReluConv(1);
      const step = await compileStep({
        name: "conv-bn-relu-conv",
        modules: [model],
        inputs: { images: { shape: [4, 1, 16, 16] } },
        build: ({ images: x }) => ({ loss: T.mean(T.square(T.sub(model.forward(x), x))) }),
        optimizer: new Adam({ lr: 1e-2 }),
        recompute,
      });
      const relus = onnx.ModelProto.decode(step.modelBytes).graph!.node!.filter((n) => n.opType === "Relu");
      expect(relus).toHaveLength(recompute ? 2 : 1);
      for (let i = 0; i < 3; i++) await step.run({ images: images(i, 4, 1, 16) });
      await step.release();
      return model.namedParameters().map(([, p]) => Array.from(p.value));
    };
    const [recomputing, keeping] = [await train(true), await train(false)];
    expect(recomputing).toEqual(keeping);
    expect(recomputing.some((values, k) => values.some((v, i) => v !== initial[k][i]))).toBe(true);
  });
});
