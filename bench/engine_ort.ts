/**
 * ONNX Runtime side of `npm run bench:engine`: a worker process that the harness (bench/engine.ts)
 * starts once per configuration so that its peak RSS is attributable. It speaks the same line
 * protocol as bench/engine_torch.py: one JSON command per stdin line, one JSON reply per stdout line.
 *
 *   {"cmd":"hello"}                                     -> versions, thread count, graph size
 *   {"cmd":"round","warmup":w,"steps":s}                -> {"times_ms":[...],"run_ms":[...],...}
 *   {"cmd":"profile","steps":s}                         -> {"times_ms":[...],"run_ms":[...],...}
 *   {"cmd":"quit"}
 *
 * It measures what users get: the project's reference autoencoder (`ConvAutoencoder`,
 * src/methods/ae/network.ts) trained by the engine's `compileStep` with `Adam` (MSE loss, batch-norm
 * running statistics updated), and run for inference by `compileFunction` in evaluation mode (frozen
 * weights unless the configuration says otherwise). The configuration (mode, size, batch, runtime
 * options) comes from argv[2] as JSON. `times_ms` is the whole call as a caller sees it (`step.run` or
 * `fn.run`); `run_ms` only ONNX Runtime's `session.run` inside it.
 */
import { createInterface } from "node:readline";
import ort from "onnxruntime-node";
import * as T from "../src/engine/api.js";
import { withScope } from "../src/engine/ir.js";
import { type RuntimeOptions, sessionOptions } from "../src/engine/runtime.js";
import {
  type CompiledFunction,
  compileFunction,
  compileStep,
  type TrainingStep,
} from "../src/engine/step.js";
import { ConvAutoencoder } from "../src/methods/ae/network.js";
import { Adam } from "../src/nn/optim.js";
import { Random } from "../src/util/random.js";

export interface WorkerConfig {
  mode: "train" | "infer";
  size: number;
  batch: number;
  /** Runtime options for the engine (defaults: the engine's). */
  runtime?: RuntimeOptions;
  /** Inference only: embed the weights (default: the engine's default for eval-mode modules). */
  frozen?: boolean;
  /**
   * Inference only: run the function's exported ONNX model (`CompiledFunction.exportOnnx`, batch axis
   * symbolic) in a plain onnxruntime-node session with the engine's session settings, not the function.
   */
  exported?: boolean;
  /** With `exported`: fix the symbolic batch axis "N" to the batch size (ORT `freeDimensionOverrides`). */
  fixBatchAxis?: boolean;
  /** Directory for profiling output (only used by the "profile" command). */
  profileDir?: string;
}

/** Time spent inside `session.run` since the last reset (the engine's runtime calls it once per run). */
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

type Images = { images: { shape: number[] } };

class Runner {
  readonly model = new ConvAutoencoder(new Random(1));
  private readonly images: Float32Array;
  private trainStep: TrainingStep<Images> | undefined;
  private inference: CompiledFunction<Images> | undefined;
  private exported: ort.InferenceSession | undefined;
  private lastValue = 0;

  constructor(private readonly config: WorkerConfig) {
    const random = new Random(2);
    this.images = Float32Array.from({ length: config.batch * config.size * config.size }, () =>
      random.uniform(),
    );
  }

  /** Compile (again) with the configured runtime options, plus profiling when asked. */
  async open(profile: boolean): Promise<void> {
    await this.close();
    const { mode, size, batch } = this.config;
    const runtime: RuntimeOptions = { ...this.config.runtime };
    if (profile) runtime.profilePrefix = `${this.config.profileDir ?? "."}/ort_${mode}_${size}_${batch}`;
    const inputs: Images = { images: { shape: [batch, 1, size, size] } };
    if (mode === "train") {
      this.model.train();
      this.trainStep = await compileStep({
        name: "bench",
        modules: [this.model],
        inputs,
        build: ({ images }) => {
          const y = this.model.forward(images);
          return { loss: withScope("loss", () => T.mean(T.square(T.sub(y, images)))) };
        },
        optimizer: new Adam({ lr: 1e-3 }),
        runtime,
      });
    } else {
      this.model.eval();
      this.inference = await compileFunction({
        name: "bench",
        modules: [this.model],
        inputs,
        build: ({ images }) => ({ y: this.model.forward(images) }),
        ...(this.config.frozen !== undefined ? { frozen: this.config.frozen } : {}),
        runtime,
      });
      if (this.config.exported) {
        const bytes = this.inference.exportOnnx();
        await this.inference.release();
        this.inference = undefined;
        this.exported = await ort.InferenceSession.create(bytes, {
          ...sessionOptions(runtime),
          ...(this.config.fixBatchAxis ? { freeDimensionOverrides: { N: batch } } : {}),
        });
      }
    }
  }

  /** One step; returns [whole call ms, session.run ms]. */
  async step(): Promise<[number, number]> {
    insideRun = 0;
    const start = performance.now();
    if (this.trainStep) {
      this.lastValue = (await this.trainStep.run({ images: this.images })).loss;
    } else if (this.exported) {
      const { size, batch } = this.config;
      const images = new ort.Tensor("float32", this.images, [batch, 1, size, size]);
      this.lastValue = ((await this.exported.run({ images })).y.data as Float32Array)[0];
    } else {
      const out = await this.inference!.run({ images: this.images });
      this.lastValue = (out.y as Float32Array)[0];
    }
    return [performance.now() - start, insideRun];
  }

  value(): number {
    return this.lastValue;
  }

  /** Stop profiling; ORT writes the trace to a file named by the prefix and a timestamp. */
  async endProfiling(): Promise<void> {
    if (this.trainStep) this.trainStep.endProfiling();
    await this.close();
  }

  async close(): Promise<void> {
    await this.trainStep?.release();
    await this.inference?.release();
    await this.exported?.release();
    this.trainStep = undefined;
    this.inference = undefined;
    this.exported = undefined;
  }
}

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

async function timed(runner: Runner, warmup: number, steps: number) {
  for (let i = 0; i < warmup; i++) await runner.step();
  const times: number[] = [];
  const runs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const [t, r] = await runner.step();
    times.push(t);
    runs.push(r);
  }
  return { times_ms: times, run_ms: runs };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as WorkerConfig;
  const runner = new Runner(config);
  const openStart = performance.now();
  await runner.open(false);
  const openMs = performance.now() - openStart;
  const reply = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const cmd = JSON.parse(line) as { cmd: string; warmup?: number; steps?: number };
    try {
      if (cmd.cmd === "quit") break;
      if (cmd.cmd === "hello") {
        reply({
          ok: true,
          ort: ort.env.versions.node ?? ort.env.versions.common,
          runtime: config.runtime ?? {},
          parameters: runner.model.parameterCount(),
          compile_ms: openMs,
          peak_rss_mb: peakRssMb(),
        });
      } else if (cmd.cmd === "round") {
        const result = await timed(runner, cmd.warmup ?? 2, cmd.steps ?? 8);
        reply({ ok: true, ...result, value: runner.value(), peak_rss_mb: peakRssMb() });
      } else if (cmd.cmd === "profile") {
        if (config.mode !== "train") throw new Error("profiles are taken of training steps");
        await runner.open(true);
        const result = await timed(runner, 2, cmd.steps ?? 8);
        await runner.endProfiling();
        await runner.open(false);
        reply({ ok: true, ...result, peak_rss_mb: peakRssMb() });
      } else {
        reply({ ok: false, error: `unknown command ${cmd.cmd}` });
      }
    } catch (error) {
      reply({ ok: false, error: (error as Error).stack ?? String(error) });
    }
  }
  process.exit(0);
}

await main();
