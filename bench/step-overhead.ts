/**
 * Training-step overhead of `compileStep` on the reference autoencoder (methods.md §2.1): the time of
 * one Adam step at a given size/batch, the share of it spent outside ONNX Runtime's `session.run`
 * (feeds, scalars, buffer swaps, the NaN check: everything the JavaScript side adds), the cost of
 * the binding's per-run state traffic measured on a trivial graph with the same inputs and outputs, and
 * ORT's graph optimisation levels compared on the same step. Not a test; prints a table.
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
  const start = performance.now();
  const step = await compileStep({
    name: "ae",
    modules: [model],
    inputs: { images: { shape: [batch, 1, size, size] } },
    build: ({ images }) => ({ loss: T.mean(T.square(T.sub(model.forward(images), images))) }),
    optimizer: new Adam({ lr: 1e-3 }),
    runtime: { optimizationLevel: level },
  });
  return { model, step, compileMs: performance.now() - start };
}

/** Time `steps` runs; returns per-step total and per-step time inside session.run. */
async function timeSteps(step: TrainingStep<{ images: { shape: number[] } }>, data: Float32Array) {
  insideRun = 0;
  const start = performance.now();
  for (let i = 0; i < steps; i++) await step.run({ images: data });
  const total = (performance.now() - start) / steps;
  return { total, inside: insideRun / steps };
}

/** A graph with the step's state traffic (same input and output sizes) and almost no compute. */
async function stateTraffic(model: ConvAutoencoder) {
  const trainable = model.namedParameters().map(([, p]) => p.size);
  const sizes = [...trainable, ...trainable, ...trainable, ...model.namedBuffers().map(([, p]) => p.size)];
  const { graph, result } = trace(() => {
    const outs: Record<string, T.Tensor> = {};
    sizes.forEach((n, i) => {
      outs[`y${i}`] = T.mul(T.input(`x${i}`, [n]), 0.5);
    });
    return outs;
  });
  const compiled = await CompiledGraph.create(graph, result);
  const feeds = Object.fromEntries(sizes.map((n, i) => [`x${i}`, new Float32Array(n)]));
  const into = Object.fromEntries(sizes.map((n, i) => [`y${i}`, new Float32Array(n)]));
  for (let i = 0; i < 3; i++) await compiled.run(feeds, into);
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const start = performance.now();
    await compiled.run(feeds, into);
    times.push(performance.now() - start);
  }
  await compiled.release();
  return { floats: sizes.reduce((a, b) => a + b, 0), ms: median(times) };
}

const random = new Random(7);
const data = batchOf(random);
console.log(
  `AE training step ${size}/${batch}, threads ${defaultRuntimeOptions.threads}, ${rounds}×${steps} steps`,
);

const levels = ["all", "extended", "basic"] as const;
const built = [];
for (const level of levels) {
  const { model, step, compileMs } = await makeStep(level);
  for (let i = 0; i < 2; i++) await step.run({ images: data });
  built.push({ level, model, step, compileMs, totals: [] as number[], outside: [] as number[] });
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
    `level ${entry.level.padEnd(8)} compile ${(entry.compileMs / 1000).toFixed(1)} s, step ${total.toFixed(1)} ms (rounds ${entry.totals.map((t) => t.toFixed(0)).join("/")}), outside session.run ${outside.toFixed(2)} ms = ${((100 * outside) / total).toFixed(2)} %`,
  );
}
const traffic = await stateTraffic(built[0].model);
const allTotal = median(built[0].totals);
console.log(
  `state traffic alone (${(traffic.floats / 1e6).toFixed(2)} M floats in and out, trivial compute): ${traffic.ms.toFixed(1)} ms = ${((100 * traffic.ms) / allTotal).toFixed(1)} % of the "all" step`,
);
for (const entry of built) await entry.step.release();
