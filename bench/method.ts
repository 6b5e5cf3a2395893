/**
 * `npm run bench:method -- --method squid` (issues 13 and 23): the training iterations of one
 * registered method on the engine, with the FLOPs of every training step it compiles, and — for a
 * method with a PyTorch counterpart in `bench/` (SQUID: bench/squid_torch.py) — the same iterations in
 * PyTorch 1.13 (Debian `python3-torch`), interleaved in one run and reported as ratios.
 *
 * Each framework runs in its own worker process (ours: this script with `--worker`; PyTorch: the
 * counterpart), both with every core as threads and `OMP_WAIT_POLICY=PASSIVE`, so each side's peak
 * RSS (the process's maxRSS) is its own. The harness alternates rounds (ours, PyTorch, ours, ...);
 * every round runs `warmup` untimed iterations (the first round's compile ours) and `iterations`
 * timed ones, continuing each side's iteration counter, so the alternation of a GAN's steps is the
 * trainer's. An iteration is whatever the method does per batch, through `trainBatch` as the trainer
 * calls it (SQUID: a discriminator step, plus a generator step every second iteration); the time of
 * each kind of step is measured around each compiled step's `run` (ours) and around each step
 * (PyTorch). Without a counterpart, or without PyTorch, the bench runs ours alone (one line says why).
 *
 * `--profile` (ours only, nothing written to docs): ORT profiles of every compiled step over the timed
 * iterations, summarised per op type, per role (forward / backward / optimiser of each top-level
 * layer) and per node, written to .bench/profiles/method-<method>-summary.json.
 *
 * Writes docs/bench/method-<method>.json and the section of docs/results.md between
 * `<!-- bench:method-<method>:start -->` and `<!-- bench:method-<method>:end -->`.
 *
 * Flags: --method NAME (required) --config JSON --size N (method default) --batch N (method default)
 *        --channels 1|3 (of the data, 1) --rounds N (2) --iterations N (4, per round) --warmup N (2,
 *        per round; both even for methods with two alternating steps) --no-torch --profile --no-write
 *        --runtime JSON (engine runtime defaults for every graph, e.g. '{"memoryPattern":false}')
 *        --baseline PATH (A/B: a third worker runs the compiled method.js of another build, e.g. a copy
 *        of .bench/ made before a change, or this build without `--runtime`, interleaved with ours;
 *        the two swap places every round)
 *        --retaining-malloc (our worker only: glibc malloc that keeps freed memory, RETAINING_MALLOC_ENV,
 *        under which training steps run without ORT's arena; with `--baseline` = this build's own
 *        .bench/bench/method.js that is the A/B of the two)
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  defaultRuntimeOptions,
  observeCompiledSteps,
  RETAINING_MALLOC_ENV,
  type TrainingStep,
} from "../src/engine/index.js";
import { getMethod, parseMethodConfig } from "../src/methods/index.js";
import { Random } from "../src/util/random.js";
import { median, type Reply, repoRoot, Worker, writeResultsSection } from "./common.js";
import { type ProfileSummary, summariseProfile } from "./profile.js";

const PYTHON = "/usr/bin/python3";
/**
 * PyTorch counterparts of methods (scripts in bench/), the only setting each mirrors (the method's
 * default configuration at this size and batch), and the names of their steps in ours.
 */
const TORCH_COUNTERPARTS: Record<
  string,
  { script: string; size: number; batch: number; steps: { d_ms: string; g_ms: string } }
> = {
  squid: {
    script: "squid_torch.py",
    size: 128,
    batch: 16,
    steps: { d_ms: "discriminator", g_ms: "generator" },
  },
};

const { values } = parseArgs({
  options: {
    method: { type: "string" },
    config: { type: "string" },
    size: { type: "string" },
    batch: { type: "string" },
    channels: { type: "string", default: "1" },
    runtime: { type: "string" },
    rounds: { type: "string", default: "2" },
    iterations: { type: "string", default: "4" },
    warmup: { type: "string", default: "2" },
    "no-torch": { type: "boolean", default: false },
    "retaining-malloc": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
    worker: { type: "boolean", default: false },
    baseline: { type: "string" },
  },
});
if (!values.method) throw new Error("--method is required, e.g. npm run bench:method -- --method squid");

const root = repoRoot();
const method = getMethod(values.method);
const config = parseMethodConfig(method, values.config ? JSON.parse(values.config) : {});
const size = values.size ? Number(values.size) : method.defaults.imageSize;
const batch = values.batch ? Number(values.batch) : method.defaults.batchSize;
const channels = method.channels(config, Number(values.channels));
const profileDir = join(root, ".bench", "profiles");

// ------------------------------------------------------------------ our worker

interface StepInfo {
  name: string;
  gflop: number;
  runs_per_iteration: number;
  /** Time of every timed run of this step, milliseconds. */
  times_ms: number[];
}

/** Serve rounds of our training iterations on stdin/stdout (JSON lines); logs go to stderr. */
async function runWorker(): Promise<void> {
  console.log = (...args: unknown[]) => console.error(...args);
  if (values.runtime) Object.assign(defaultRuntimeOptions, JSON.parse(values.runtime));
  if (values.profile) {
    mkdirSync(profileDir, { recursive: true });
    for (const file of profileFiles()) rmSync(file);
    Object.assign(defaultRuntimeOptions, { profilePrefix: join(profileDir, `method-${method.name}`) });
  }
  const steps: Array<TrainingStep<never>> = [];
  const stepTimes = new Map<string, number[]>();
  let timing = false;
  const stopObserving = observeCompiledSteps((step) => {
    const typed = step as TrainingStep<never>;
    steps.push(typed);
    const run = typed.run.bind(typed);
    typed.run = async (...args) => {
      const t0 = performance.now();
      const result = await run(...args);
      if (timing) stepTimes.get(typed.name)!.push(performance.now() - t0);
      return result;
    };
    stepTimes.set(typed.name, []);
  });
  const instance = method.create(config, { imageSize: size, channels, random: new Random(0) });
  const modules: Record<string, number> = {};
  for (const [name, module] of Object.entries(instance.modules))
    for (const [path, p] of module.namedParameters()) {
      const key = `${name}.${path.split(".")[0]}`;
      modules[key] = (modules[key] ?? 0) + p.size;
    }
  const parameters = Object.values(modules).reduce((a, b) => a + b, 0);
  const images = new Random(1);
  const batchImages = () =>
    Float32Array.from({ length: batch * channels * size * size }, () => images.uniform());
  let iteration = 0;
  const iterate = async () => {
    const feed = batchImages();
    const t0 = performance.now();
    await instance.trainBatch(feed, batch, {
      epoch: 0,
      epochs: 1,
      iteration,
      random: new Random(100 + iteration),
    });
    iteration++;
    return performance.now() - t0;
  };
  const reply = (r: Record<string, unknown>) =>
    process.stdout.write(`${JSON.stringify({ ok: true, ...r })}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const cmd = JSON.parse(line) as { cmd: string; warmup?: number; iterations?: number };
    if (cmd.cmd === "quit") break;
    try {
      if (cmd.cmd === "hello") reply({ parameters, modules });
      else if (cmd.cmd === "round") {
        for (let i = 0; i < cmd.warmup!; i++)
          console.error(`ours: warm-up iteration ${(await iterate()).toFixed(0)} ms`);
        for (const times of stepTimes.values()) times.length = 0;
        timing = true;
        const iterationMs: number[] = [];
        for (let i = 0; i < cmd.iterations!; i++) iterationMs.push(await iterate());
        timing = false;
        const perStep: StepInfo[] = steps.map((s) => ({
          name: s.name,
          gflop: s.flops / 1e9,
          runs_per_iteration: stepTimes.get(s.name)!.length / cmd.iterations!,
          times_ms: [...stepTimes.get(s.name)!],
        }));
        let profiles: ProfileSummary[] | undefined;
        if (values.profile) profiles = endProfiles(steps, perStep);
        reply({
          iteration_ms: iterationMs,
          steps: perStep,
          peak_rss_mb: process.resourceUsage().maxRSS / 1024,
          ...(profiles ? { profiles } : {}),
        });
      } else process.stdout.write(`${JSON.stringify({ ok: false, error: `unknown command ${cmd.cmd}` })}\n`);
    } catch (error) {
      process.stdout.write(`${JSON.stringify({ ok: false, error: (error as Error).stack })}\n`);
    }
  }
  stopObserving();
  await instance.dispose();
}

/**
 * End the steps' ORT profiles and summarise each over its timed runs. ORT names a profile by its
 * session's creation time, and the steps were created in the order of `steps`; the worker removed
 * older profiles of this method at start.
 */
function endProfiles(steps: Array<TrainingStep<never>>, perStep: StepInfo[]): ProfileSummary[] {
  for (const step of steps) step.endProfiling();
  const files = profileFiles();
  if (files.length !== steps.length)
    throw new Error(`expected ${steps.length} ORT profiles in ${profileDir}, found ${files.length}`);
  return steps.map((step, i) =>
    summariseProfile(files[i], step.name, perStep[i].times_ms, perStep[i].times_ms, roleOfNode),
  );
}

function profileFiles(): string[] {
  return readdirSync(profileDir)
    .filter((f) => f.startsWith(`method-${method.name}_`) && f.endsWith(".json"))
    .sort()
    .map((f) => join(profileDir, f));
}

/**
 * Role of a node in a method's step: "optimizer", "finiteness check", or forward/backward of its
 * top-level layer (two path levels, e.g. "backward generator.inpaint") from the scoped node names;
 * nodes without a layer scope (ORT's layout reorders, shared gradient nodes) by op type.
 */
function roleOfNode(node: string, op: string): string {
  if (node.startsWith("optimizer")) return "optimizer";
  if (node.startsWith("finiteness")) return "finiteness check";
  const backward = node.includes("grad(");
  const scope = /^(?:grad\()?([a-z_]\w*\.[A-Za-z_]\w*)/.exec(node)?.[1];
  return `${backward ? "backward" : "forward"} ${scope ?? `unscoped ${op}`}`;
}

// ------------------------------------------------------------------ harness

function torchAvailable(): string | undefined {
  try {
    execFileSync(PYTHON, ["-c", "import torch"], { stdio: "pipe" });
    return undefined;
  } catch (error) {
    return `${PYTHON} cannot import torch (${(error as Error).message.split("\n")[0]})`;
  }
}

interface SideSummary {
  iteration_ms: number[];
  mean_iteration_ms: number;
  median_iteration_ms: number;
  round_means_ms: number[];
  /** Median time of each kind of step. */
  step_ms: Record<string, number>;
  peak_rss_mb: number;
}

function summarise(
  rounds: Array<{ iteration_ms: number[]; steps: Record<string, number[]>; rss: number }>,
): SideSummary {
  const all = rounds.flatMap((r) => r.iteration_ms);
  const names = [...new Set(rounds.flatMap((r) => Object.keys(r.steps)))];
  return {
    iteration_ms: all.map((x) => Number(x.toFixed(1))),
    mean_iteration_ms: all.reduce((a, b) => a + b, 0) / all.length,
    median_iteration_ms: median(all),
    round_means_ms: rounds.map((r) => r.iteration_ms.reduce((a, b) => a + b, 0) / r.iteration_ms.length),
    step_ms: Object.fromEntries(
      names
        .map((n) => [n, median(rounds.flatMap((r) => r.steps[n] ?? []))])
        .filter(([, v]) => !Number.isNaN(v)),
    ),
    peak_rss_mb: Math.round(Math.max(...rounds.map((r) => r.rss))),
  };
}

async function runHarness(): Promise<void> {
  const started = performance.now();
  const rounds = Number(values.rounds);
  const iterations = Number(values.iterations);
  const warmup = Number(values.warmup);
  const threads = availableParallelism();
  const counterpart = TORCH_COUNTERPARTS[method.name];
  let withTorch = false;
  let torchNote = "";
  if (values.profile) torchNote = "profiling run: ours only";
  else if (!counterpart) torchNote = `no PyTorch counterpart of ${method.name} in bench/: ours only`;
  else if (values["no-torch"]) torchNote = "--no-torch: ours only";
  else if (values.config || size !== counterpart.size || batch !== counterpart.batch)
    torchNote = `the PyTorch counterpart mirrors only the default configuration at ${counterpart.size} px, batch ${counterpart.batch}: ours only`;
  else {
    const missing = torchAvailable();
    if (missing) torchNote = `PyTorch is missing (${missing}): ours only`;
    else withTorch = true;
  }
  if (torchNote) console.log(`bench:method: ${torchNote}`);
  if (withTorch && (warmup % 2 !== 0 || iterations % 2 !== 0))
    throw new Error("--warmup and --iterations must be even, so both sides time as many D as G steps");

  const env = { ...process.env, OMP_WAIT_POLICY: "PASSIVE", OMP_NUM_THREADS: String(threads) };
  const script = fileURLToPath(import.meta.url);
  const passed = process.argv.slice(2).filter((a) => a !== "--no-write");
  const ours = new Worker("our worker", process.execPath, [script, ...passed, "--worker"], {
    ...env,
    ...(values["retaining-malloc"] ? RETAINING_MALLOC_ENV : {}),
  });
  // The baseline runs with its build's engine defaults: `--runtime` (an option to A/B) is ours only.
  const dropped = new Set(["--baseline", "--runtime"]);
  const baselineArgs = passed.filter((a, i) => !dropped.has(a) && !dropped.has(passed[i - 1]));
  const baseline = values.baseline
    ? new Worker("baseline worker", process.execPath, [values.baseline, ...baselineArgs, "--worker"], env)
    : undefined;
  const torch = withTorch
    ? new Worker(
        "PyTorch worker",
        PYTHON,
        [join(root, "bench", counterpart.script), "--threads", String(threads)],
        env,
      )
    : undefined;
  const loadAtStart = loadavg().map((x) => Number(x.toFixed(2)));
  const [oursHello, torchHello] = await Promise.all([
    ours.send({ cmd: "hello" }),
    torch?.send({ cmd: "hello", checks: true }),
    baseline?.send({ cmd: "hello" }),
  ]);
  const round = { cmd: "round", warmup, iterations };
  type Round = { iteration_ms: number[]; steps: Record<string, number[]>; rss: number };
  const oursRounds: Round[] = [];
  const baselineRounds: Round[] = [];
  const torchRounds: Round[] = [];
  let stepInfo: StepInfo[] = [];
  let profiles: ProfileSummary[] | undefined;
  const loads: number[] = [];
  const engineRound = async (worker: Worker): Promise<Round> => {
    const o = await worker.send(round);
    stepInfo = o.steps as StepInfo[];
    profiles = o.profiles as ProfileSummary[] | undefined;
    return {
      iteration_ms: o.iteration_ms as number[],
      steps: Object.fromEntries(stepInfo.map((s) => [s.name, s.times_ms])),
      rss: o.peak_rss_mb!,
    };
  };
  for (let r = 0; r < rounds; r++) {
    loads.push(Number(loadavg()[0].toFixed(2)));
    let line = `round ${r + 1}:`;
    if (baseline && r % 2 === 1) {
      baselineRounds.push(await engineRound(baseline));
      line += ` baseline ${fmtS(mean(baselineRounds[r].iteration_ms))},`;
    }
    oursRounds.push(await engineRound(ours));
    line += ` ours ${fmtS(mean(oursRounds[r].iteration_ms))} per iteration`;
    if (baseline && r % 2 === 0) {
      baselineRounds.push(await engineRound(baseline));
      line += `, baseline ${fmtS(mean(baselineRounds[r].iteration_ms))}`;
    }
    if (torch) {
      const t: Reply = await torch.send(round);
      torchRounds.push({
        iteration_ms: t.iteration_ms as number[],
        steps: {
          [counterpart.steps.d_ms]: t.d_ms as number[],
          [counterpart.steps.g_ms]: t.g_ms as number[],
        },
        rss: t.peak_rss_mb!,
      });
      line += `, PyTorch ${fmtS(mean(t.iteration_ms as number[]))}`;
    }
    console.log(`${line} (1-minute load ${loads[r]})`);
  }
  await Promise.all([ours.close(), torch?.close(), baseline?.close()]);

  const oursSide = summarise(oursRounds);
  const baselineSide = baseline ? summarise(baselineRounds) : undefined;
  const torchSide = torch ? summarise(torchRounds) : undefined;
  const perStep = stepInfo.map(({ times_ms: _, ...s }) => s);
  const gflopPerIteration = perStep.reduce((a, s) => a + s.gflop * s.runs_per_iteration, 0);
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const flags = /flags\s*:\s*(.*)/.exec(cpuinfo)?.[1].split(" ") ?? [];
  const report = {
    command: `npm run bench:method -- ${process.argv
      .slice(2)
      .map((a) => (/^[\w./=-]+$/.test(a) ? a : `'${a}'`))
      .join(" ")}`,
    date: new Date().toISOString().slice(0, 10),
    method: method.name,
    config,
    image_size: size,
    batch,
    parameters: oursHello.parameters as number,
    parameters_by_module: oursHello.modules,
    rounds,
    warmup,
    iterations,
    threads,
    ours: oursSide,
    ...(baselineSide ? { baseline: { script: values.baseline ?? "", ...baselineSide } } : {}),
    steps: perStep,
    gflop_per_iteration: gflopPerIteration,
    gflop_per_s: gflopPerIteration / (oursSide.mean_iteration_ms / 1000),
    ...(torchSide && torchHello
      ? {
          torch: {
            ...torchSide,
            version: torchHello.torch as string,
            parameters: torchHello.parameters as number,
            parameters_by_module: torchHello.modules,
            output_shapes: torchHello.shapes,
            forward_gflop: torchHello.forward_gflop as Record<string, number>,
          },
          ratio: oursSide.mean_iteration_ms / torchSide.mean_iteration_ms,
          ratio_median: oursSide.median_iteration_ms / torchSide.median_iteration_ms,
          step_ratios: Object.fromEntries(
            Object.keys(oursSide.step_ms).map((n) => [n, oursSide.step_ms[n] / torchSide.step_ms[n]]),
          ),
          rss_ratio: oursSide.peak_rss_mb / torchSide.peak_rss_mb,
        }
      : { torch_note: torchNote }),
    wall_s: (performance.now() - started) / 1000,
    machine: {
      cpu: cpus()[0]?.model ?? "unknown",
      cores: threads,
      simd: ["avx2", "fma", "avx512f"].filter((f) => flags.includes(f)),
      memory_gb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      onnxruntime_node: JSON.parse(
        readFileSync(join(root, "node_modules/onnxruntime-node/package.json"), "utf8"),
      ).version as string,
      load_average_at_start: loadAtStart,
      load_average_per_round: loads,
      load_average_at_end: loadavg().map((x) => Number(x.toFixed(2))),
    },
  };
  if (profiles) {
    const path = join(profileDir, `method-${method.name}-summary.json`);
    writeFileSync(path, `${JSON.stringify({ report, profiles }, null, 2)}\n`);
    for (const p of profiles) {
      console.log(
        `\nORT profile of step "${p.config}" (${p.steps} runs; per run: step ${fmtS(p.step_ms)}, kernels ${fmtS(p.kernel_ms)}):`,
      );
      console.log(
        `  by op: ${p.by_op
          .slice(0, 12)
          .map((o) => `${o.op} ${o.share.toFixed(1)}%`)
          .join(", ")}`,
      );
      console.log(
        `  by role: ${p.by_role
          .slice(0, 14)
          .map((o) => `${o.role} ${fmtS(o.ms)} (${o.share.toFixed(1)}%)`)
          .join(", ")}`,
      );
      console.log(`  top nodes:`);
      for (const n of p.top_nodes.slice(0, 20))
        console.log(`    ${fmtS(n.ms)} ${n.op} ${n.node} [${n.output?.join("x") ?? ""}]`);
    }
    console.log(`\nwrote ${path}`);
    return;
  }
  const section = renderSection(report, torchNote);
  console.log(`\n${section}`);
  if (!values["no-write"]) {
    mkdirSync(join(root, "docs", "bench"), { recursive: true });
    writeFileSync(
      join(root, "docs", "bench", `method-${method.name}.json`),
      `${JSON.stringify(report, null, 2)}\n`,
    );
    writeResultsSection(root, `method-${method.name}`, section);
  }
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function fmtS(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

type Report = Record<string, unknown> & {
  command: string;
  date: string;
  method: string;
  parameters: number;
  ours: SideSummary;
  baseline?: SideSummary & { script: string };
  torch?: SideSummary & { version: string; parameters: number; forward_gflop?: Record<string, number> };
  ratio?: number;
  ratio_median?: number;
  step_ratios?: Record<string, number>;
  rss_ratio?: number;
  steps: Array<Omit<StepInfo, "times_ms">>;
  gflop_per_iteration: number;
  gflop_per_s: number;
  rounds: number;
  warmup: number;
  iterations: number;
  threads: number;
  wall_s: number;
  machine: {
    cpu: string;
    cores: number;
    simd: string[];
    memory_gb: number;
    node: string;
    onnxruntime_node: string;
    load_average_at_start: number[];
    load_average_per_round: number[];
    load_average_at_end: number[];
  };
};

function renderSection(report: Report, torchNote: string): string {
  const fmt = (x: number, digits = 1) => x.toFixed(digits);
  const { ours, torch } = report;
  const m = report.machine;
  const lines = [
    `## Training speed of \`${report.method}\` on the engine`,
    "",
    `Generated by \`${report.command}\` on ${report.date}${values.runtime ? ` (engine runtime options \`${values.runtime}\`)` : ""}${values["retaining-malloc"] ? " (our worker with retaining glibc malloc: no ORT arena in training steps)" : ""}: ${report.method} with ${values.config ? `config \`${values.config}\`` : "its default configuration"}, ${size} px, batch ${batch}, ${report.parameters.toLocaleString("en-US")} parameters; seeded random images; ${report.rounds} round(s) of ${report.warmup} untimed iterations (in the first round they compile the steps) and ${report.iterations} timed iterations through \`trainBatch\`, as the trainer calls it; ${report.threads} threads.`,
    "",
  ];
  if (torch) {
    lines.push(
      `Beside PyTorch ${torch.version} (bench/${TORCH_COUNTERPARTS[report.method].script}: the same network, ${torch.parameters.toLocaleString("en-US")} parameters, the same losses, optimisers and step alternation), rounds interleaved (ours, PyTorch, ...), each framework in its own process (peak RSS = that process's maxRSS), \`OMP_WAIT_POLICY=PASSIVE\`.`,
      "",
      "| | ours (engine) | PyTorch | ours/PyTorch |",
      "|---|---:|---:|---:|",
      `| mean iteration | ${fmtS(ours.mean_iteration_ms)} | ${fmtS(torch.mean_iteration_ms)} | **${fmt(report.ratio!, 2)}x** |`,
      `| median iteration | ${fmtS(ours.median_iteration_ms)} | ${fmtS(torch.median_iteration_ms)} | ${fmt(report.ratio_median!, 2)}x |`,
      ...Object.keys(ours.step_ms).map(
        (n) =>
          `| ${n} step (median) | ${fmtS(ours.step_ms[n])} | ${fmtS(torch.step_ms[n])} | ${fmt(report.step_ratios![n], 2)}x |`,
      ),
      `| peak RSS | ${ours.peak_rss_mb} MB | ${torch.peak_rss_mb} MB | **${fmt(report.rss_ratio!, 2)}x** |`,
      "",
      `Round means, ours: ${ours.round_means_ms.map(fmtS).join(", ")}; PyTorch: ${torch.round_means_ms.map(fmtS).join(", ")}.`,
      "",
    );
  } else lines.push(`No PyTorch comparison (${torchNote}).`, "");
  const base = report.baseline;
  if (base)
    lines.push(
      `A/B (interleaved, alternating order): baseline build (${base.script}) mean iteration ${fmtS(base.mean_iteration_ms)}, ${Object.entries(
        base.step_ms,
      )
        .map(([n, ms]) => `${n} ${fmtS(ms)}`)
        .join(
          ", ",
        )}, peak RSS ${base.peak_rss_mb} MB; this build ${fmtS(ours.mean_iteration_ms)}, ${Object.entries(
        ours.step_ms,
      )
        .map(([n, ms]) => `${n} ${fmtS(ms)}`)
        .join(", ")}, peak RSS ${ours.peak_rss_mb} MB.`,
      "",
    );
  lines.push(
    "| compiled step (ours) | GFLOP per run (conv + matmul) | runs per iteration |",
    "|---|---:|---:|",
    ...report.steps.map((s) => `| ${s.name} | ${fmt(s.gflop)} | ${fmt(s.runs_per_iteration, 2)} |`),
    "",
    `Ours: mean iteration ${fmtS(ours.mean_iteration_ms)} (all: ${ours.iteration_ms.map((x) => fmt(x / 1000, 2)).join(", ")} s) → ${fmt(report.gflop_per_iteration)} GFLOP per iteration at ${fmt(report.gflop_per_s, 0)} GFLOP/s.${
      torch?.forward_gflop
        ? ` PyTorch's profiler counts ${Object.entries(torch.forward_gflop)
            .map(([k, v]) => `${fmt(v)} GFLOP in the ${k.replaceAll("_", " ")}`)
            .join(" and ")} (conv + matmul, forward only).`
        : ""
    } Wall time ${fmt(report.wall_s / 60)} min.`,
    "",
    `Machine: ${m.cpu}, ${m.cores} cores (${m.simd.join(", ")}), ${m.memory_gb} GB; Node ${m.node}, onnxruntime-node ${m.onnxruntime_node}. 1-minute load average at start ${m.load_average_at_start[0]}, at each round ${m.load_average_per_round.join(", ")}, at end ${m.load_average_at_end[0]}. Raw data: docs/bench/method-${report.method}.json.`,
  );
  return lines.join("\n");
}

if (values.worker) await runWorker();
else await runHarness();
