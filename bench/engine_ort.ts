/**
 * ONNX Runtime side of `npm run bench:engine`: a worker process that the harness (bench/engine.ts)
 * starts once per configuration so that its peak RSS is attributable. It speaks the same line
 * protocol as bench/engine_torch.py: one JSON command per stdin line, one JSON reply per stdout line.
 *
 *   {"cmd":"hello"}                                     -> versions, thread count, graph size
 *   {"cmd":"round","warmup":w,"steps":s}                -> {"times_ms":[...],"run_ms":[...],...}
 *   {"cmd":"profile","steps":s}                         -> {"file": "<ORT profile JSON>", ...}
 *   {"cmd":"quit"}
 *
 * The configuration (mode, size, batch, threads, session options) comes from argv[2] as JSON. A
 * training step feeds every parameter, Adam moment and running statistic and lets ORT write the next
 * values straight into a second set of preallocated buffers, then swaps the two sets (double
 * buffering, as the engine's step does), so no parameter is copied on the JavaScript side.
 * `times_ms` is the whole step as a caller sees it; `run_ms` only the `session.run` call.
 */
import { createInterface } from "node:readline";
import ort from "onnxruntime-node";
import { type BuiltGraph, buildInference, buildTrainStep } from "./ae_graph.js";

export interface WorkerConfig {
  mode: "train" | "infer";
  size: number;
  batch: number;
  threads: number;
  optimizationLevel: "disabled" | "basic" | "extended" | "all";
  /** Extra session config entries (ORT `extra` session options), e.g. {"session.x": "1"}. */
  extra?: Record<string, string>;
  /** Directory for profiling output (only used by the "profile" command). */
  profileDir?: string;
}

type Feeds = Record<string, ort.Tensor>;

class Runner {
  private session!: ort.InferenceSession;
  private readonly graph: BuiltGraph;
  private current: Feeds = {};
  private other: Feeds = {};
  private loss: ort.Tensor | undefined;
  private y: ort.Tensor | undefined;
  private stepCount = 0;
  private readonly x: ort.Tensor;

  constructor(private readonly config: WorkerConfig) {
    this.graph =
      config.mode === "train"
        ? buildTrainStep(config.size, config.batch)
        : buildInference(config.size, config.batch);
    const xs = new Float32Array(this.graph.inputShape.reduce((a, d) => a * d, 1));
    let seed = 1;
    for (let i = 0; i < xs.length; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      xs[i] = seed / 4294967296;
    }
    this.x = new ort.Tensor("float32", xs, this.graph.inputShape);
    for (const s of this.graph.state) {
      this.current[s.name] = new ort.Tensor("float32", Float32Array.from(s.init), s.shape);
      this.other[s.name] = new ort.Tensor("float32", new Float32Array(s.init.length), s.shape);
    }
    if (config.mode === "train") this.loss = new ort.Tensor("float32", new Float32Array(1), []);
    else this.y = new ort.Tensor("float32", new Float32Array(xs.length), this.graph.inputShape);
  }

  get built(): BuiltGraph {
    return this.graph;
  }

  async open(profile: boolean): Promise<void> {
    if (this.session) await this.session.release();
    const options: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: this.config.threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: this.config.optimizationLevel,
      enableCpuMemArena: true,
      enableMemPattern: true,
    };
    if (profile) {
      options.enableProfiling = true;
      options.profileFilePrefix = `${this.config.profileDir ?? "."}/ort_${this.config.mode}_${this.config.size}_${this.config.batch}`;
    }
    if (this.config.extra) options.extra = { session: this.config.extra };
    this.session = await ort.InferenceSession.create(this.graph.model, options);
  }

  /** One step; returns [whole step ms, session.run ms]. */
  async step(): Promise<[number, number]> {
    const start = performance.now();
    let runMs: number;
    if (this.config.mode === "train") {
      this.stepCount++;
      const lr = 1e-3;
      const feeds: Feeds = {
        x: this.x,
        ...this.current,
        step_size: new ort.Tensor("float32", Float32Array.of(lr / (1 - 0.9 ** this.stepCount)), []),
        bias_correction2_sqrt: new ort.Tensor(
          "float32",
          Float32Array.of(Math.sqrt(1 - 0.999 ** this.stepCount)),
          [],
        ),
      };
      const fetches: Record<string, ort.Tensor> = { loss: this.loss! };
      for (const s of this.graph.state) fetches[this.graph.next[s.name]] = this.other[s.name];
      const runStart = performance.now();
      await this.session.run(feeds, fetches);
      runMs = performance.now() - runStart;
      [this.current, this.other] = [this.other, this.current];
    } else {
      const runStart = performance.now();
      await this.session.run({ x: this.x, ...this.current }, { y: this.y! });
      runMs = performance.now() - runStart;
    }
    return [performance.now() - start, runMs];
  }

  value(): number {
    return this.config.mode === "train"
      ? (this.loss!.data as Float32Array)[0]
      : (this.y!.data as Float32Array)[0];
  }

  /** Stop profiling; ORT writes the trace to a file named by the prefix and a timestamp. */
  endProfiling(): void {
    this.session.endProfiling();
  }
}

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as WorkerConfig;
  const buildStart = performance.now();
  const runner = new Runner(config);
  const buildMs = performance.now() - buildStart;
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
          threads: config.threads,
          parameters: runner.built.parameterCount,
          nodes: runner.built.nodeCount,
          model_bytes: runner.built.model.length,
          trace_ms: buildMs,
          session_ms: openMs,
          peak_rss_mb: peakRssMb(),
        });
      } else if (cmd.cmd === "round") {
        for (let i = 0; i < (cmd.warmup ?? 2); i++) await runner.step();
        const times: number[] = [];
        const runs: number[] = [];
        for (let i = 0; i < (cmd.steps ?? 8); i++) {
          const [t, r] = await runner.step();
          times.push(t);
          runs.push(r);
        }
        reply({ ok: true, times_ms: times, run_ms: runs, value: runner.value(), peak_rss_mb: peakRssMb() });
      } else if (cmd.cmd === "profile") {
        await runner.open(true);
        for (let i = 0; i < 2; i++) await runner.step();
        const times: number[] = [];
        const runs: number[] = [];
        for (let i = 0; i < (cmd.steps ?? 8); i++) {
          const [t, r] = await runner.step();
          times.push(t);
          runs.push(r);
        }
        runner.endProfiling();
        await runner.open(false);
        reply({ ok: true, times_ms: times, run_ms: runs, peak_rss_mb: peakRssMb() });
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
