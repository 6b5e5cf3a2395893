/**
 * Training-step overhead of `compileStep` on the reference autoencoder (methods.md §2.1): the time of
 * one Adam step at a given size/batch, the share of it spent outside ONNX Runtime's `session.run`
 * (feeds, scalars, buffer swaps, the NaN check: everything the JavaScript side adds), the cost of
 * returning the state tensors from ONNX Runtime (isolated on a trivial graph of the same sizes), and
 * ORT's graph optimisation levels compared on the same step (interleaved rounds). Not a test.
 *
 *   npx tsx bench/step-overhead.ts [size=128] [batch=16] [rounds=3] [steps=8]
 */
import ort from "onnxruntime-node";
import * as T from "../src/engine/api.js";
import { trace } from "../src/engine/ir.js";
import { CompiledGraph, defaultRuntimeOptions, type RuntimeOptions } from "../src/engine/runtime.js";
import { compileStep, type TrainingStep } from "../src/engine/step.js";
import { ConvAutoencoder } from "../src/methods/ae/network.js";
import { Adam } from "../src/nn/optim.js";
import { Random } from "../src/util/random.js";

const [size, batch, rounds, steps] = [128, 16, 3, 8].map((d, i) => Number(process.argv[2 + i] ?? d));

let insideRun = 0;
type SessionRun = (...args: unknown[]) => Promise<ort.InferenceSession.ReturnType>;
const sessionPrototype = (ort.InferenceSession as unknown as { prototype: { run: SessionRun } }).prototype;
const sessionRun = sessionPrototype.run;
sessionPrototype.run = async function (this: ort.InferenceSession, ...args: unknown[]) {
  const start = performance.now();
  try {
    return await sessionRun.apply(this, args);
  } finally {
    insideRun += performance.now() - start;
  }
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function batchOf(random: Random): Float32Array {
  return Float32Array.from({ length: batch * size * size }, () => random.uniform());
}

async function makeStep(level: RuntimeOptions["optimizationLevel"]) {
  const model = new ConvAutoencoder(new Random(1));
  const step = await compileStep({
    name: "ae",
    modules: [model],
    inputs: { images: { shape: [batch, 1, size, size] } },
    build: ({ images }) => ({ loss: T.mean(T.square(T.sub(model.forward(images), images))) }),
    optimizer: new Adam({ lr: 1e-3 }),
    runtime: { optimizationLevel: level },
  });
  return { model, step };
}

/** Time `steps` runs; returns per-step total and per-step time inside session.run. */
async function timeSteps(step: TrainingStep<{ images: { shape: number[] } }>, data: Float32Array) {
  insideRun = 0;
  const start = performance.now();
  for (let i = 0; i < steps; i++) await step.run({ images: data });
  const total = (performance.now() - start) / steps;
  return { total, inside: insideRun / steps };
}

/**
 * Cost of handing the step's state back to JavaScript: a graph computing x·0.5 for every state
 * tensor (parameters, two Adam moments, running statistics) and outputting all of them, minus the
 * same graph that keeps the products inside ONNX Runtime (outputs one sum). The difference is what the
 * outputs themselves cost (the binding's copies and allocations), which the double-buffered step pays
 * once per step.
 */
async function stateTraffic(model: ConvAutoencoder) {
  const trainable = model.namedParameters().map(([, p]) => p.size);
  const sizes = [...trainable, ...trainable, ...trainable, ...model.namedBuffers().map(([, p]) => p.size)];
  const feeds = Object.fromEntries(sizes.map((n, i) => [`x${i}`, new Float32Array(n)]));
  const timeGraph = async (outputAll: boolean) => {
    const { graph, result } = trace(() => {
      const halves = sizes.map((n, i) => T.mul(T.input(`x${i}`, [n]), 0.5));
      if (!outputAll) return { total: halves.map((h) => T.sum(h)).reduce((a, b) => T.add(a, b)) };
      return Object.fromEntries(halves.map((h, i) => [`y${i}`, h]));
    });
    const compiled = await CompiledGraph.create(graph, result);
    const into = Object.fromEntries(
      Object.entries(result).map(([name, t]) => [name, new Float32Array(t.size)] as const),
    );
    for (let i = 0; i < 3; i++) await compiled.run(feeds, into);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const start = performance.now();
      await compiled.run(feeds, into);
      times.push(performance.now() - start);
    }
    await compiled.release();
    return { median: median(times), min: Math.min(...times) };
  };
  const withOutputs = await timeGraph(true);
  const internal = await timeGraph(false);
  return {
    floats: sizes.reduce((a, b) => a + b, 0),
    median: withOutputs.median - internal.median,
    min: withOutputs.min - internal.min,
  };
}

const random = new Random(7);
const data = batchOf(random);
console.log(
  `AE training step ${size}/${batch}, threads ${defaultRuntimeOptions.threads}, ${rounds}×${steps} steps`,
);

const levels = ["all", "extended", "basic"] as const;
const built = [];
for (const level of levels) {
  const { model, step } = await makeStep(level);
  for (let i = 0; i < 2; i++) await step.run({ images: data });
  built.push({ level, model, step, totals: [] as number[], outside: [] as number[] });
}
for (let r = 0; r < rounds; r++) {
  for (const entry of built) {
    const { total, inside } = await timeSteps(entry.step, data);
    entry.totals.push(total);
    entry.outside.push(total - inside);
  }
}
for (const entry of built) {
  const total = median(entry.totals);
  const outside = median(entry.outside);
  console.log(
    `level ${entry.level.padEnd(8)} step median ${total.toFixed(1)} ms, min ${Math.min(...entry.totals).toFixed(1)} ms ` +
      `(rounds ${entry.totals.map((t) => t.toFixed(0)).join("/")}); outside session.run ${outside.toFixed(2)} ms = ` +
      `${((100 * outside) / total).toFixed(2)} %`,
  );
}
const traffic = await stateTraffic(built[0].model);
const fastest = Math.min(...built[0].totals);
console.log(
  `state outputs (${(traffic.floats / 1e6).toFixed(2)} M floats): ${traffic.median.toFixed(1)} ms median, ` +
    `${traffic.min.toFixed(1)} ms min = ${((100 * traffic.min) / fastest).toFixed(1)} % of the fastest "all" step`,
);
for (const entry of built) await entry.step.release();
