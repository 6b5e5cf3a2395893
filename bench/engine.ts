/**
 * `npm run bench:engine` (issue 11 §4): the reference autoencoder of docs/engine.md §2 on ONNX Runtime
 * (the engine's traced training step and inference graph) beside PyTorch 1.13 (Debian `python3-torch`,
 * OpenBLAS), same thread count, interleaved in one run, reported as ratios.
 *
 * For each configuration (training step at 64/8, 128/8, 128/16, 256/16; inference at 128 and 256 px
 * with batch 1 and 16) it starts one ORT worker (bench/engine_ort.ts) and one PyTorch worker
 * (bench/engine_torch.py) as separate processes, so each side's peak RSS is its own, then alternates
 * rounds (ORT, PyTorch, ORT, ...) of `warmup` untimed and `steps` timed steps, and takes medians over
 * all timed steps of each side. Optional extras: `--profile` (ORT profiles of the training steps,
 * time per op type and time outside ORT's kernels), `--session-options` (ORT optimisation levels and
 * spin-waiting on the 128/16 training step, ORT only) and `--frozen` (inference with weights fed at
 * every run vs embedded, ORT only) and `--export` (inference at batch 16 through the compiled
 * function, as `predict` runs it, vs its exported ONNX model in a plain session, ORT only) and
 * `--ab DIR,...` (the training steps at 128/16 and 256/16 of this tree vs the same benchmark built from
 * other checkouts of the project: each DIR holds a checkout whose `.bench` was built with
 * `npx tsc -p bench/tsconfig.json`; ORT only, one worker per tree, interleaved round by round). Writes
 * docs/bench/engine.json and the section of docs/results.md between `<!-- bench:engine:start -->` and
 * `<!-- bench:engine:end -->`, or only the report to `--json PATH`. `--only none` skips the PyTorch
 * comparisons (and PyTorch) and runs the ORT-only extras alone.
 *
 * Flags: --rounds N (3) --steps N (8) --warmup N (2) --only <name,...> --profile --session-options --frozen
 *        --export --malloc (ORT's arena vs retaining glibc malloc, engine/runtime.ts) --ab DIR,... --json PATH
 *        --torch-retaining-malloc (the PyTorch worker under RETAINING_MALLOC_ENV: its per-step allocations
 *        then reuse freed memory instead of mapping fresh pages)
 *        --wait-quiet MINUTES (first wait, polling every 30 s, until the 1-minute load is below 1.5)
 *        --no-write (print only) --resummarise (re-summarise the last run's kept ORT profiles only).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { RETAINING_MALLOC_ENV, type RuntimeOptions } from "../src/engine/runtime.js";
import { median, quartile1, type Reply, repoRoot, Worker, writeResultsSection } from "./common.js";
import { type ProfileSummary, summariseProfile } from "./profile.js";

const PYTHON = "/usr/bin/python3";
const APT_PACKAGES = ["python3-torch", "libopenblas0-pthread"];

interface Configuration {
  name: string;
  mode: "train" | "infer";
  size: number;
  batch: number;
}

const CONFIGURATIONS: Configuration[] = [
  { name: "train 64/8", mode: "train", size: 64, batch: 8 },
  { name: "train 128/8", mode: "train", size: 128, batch: 8 },
  { name: "train 128/16", mode: "train", size: 128, batch: 16 },
  { name: "train 256/16", mode: "train", size: 256, batch: 16 },
  { name: "infer 128/1", mode: "infer", size: 128, batch: 1 },
  { name: "infer 128/16", mode: "infer", size: 128, batch: 16 },
  { name: "infer 256/1", mode: "infer", size: 256, batch: 1 },
  { name: "infer 256/16", mode: "infer", size: 256, batch: 16 },
];

/** Targets: ORT/PyTorch ratio at most this (issue 11: inference; issue 23: training at 128/16 and 256/16). */
function target(c: Configuration): number | undefined {
  if (c.mode === "infer") return 0.7;
  return c.size >= 128 && c.batch === 16 ? 0.7 : undefined;
}

// ------------------------------------------------------------------ small helpers

function parseArgs(argv: string[]) {
  const get = (flag: string, fallback: number) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const onlyIndex = argv.indexOf("--only");
  return {
    rounds: get("--rounds", 3),
    steps: get("--steps", 8),
    warmup: get("--warmup", 2),
    only: onlyIndex >= 0 ? argv[onlyIndex + 1].split(",").map((s) => s.trim()) : undefined,
    profile: argv.includes("--profile"),
    sessionOptions: argv.includes("--session-options"),
    frozen: argv.includes("--frozen"),
    malloc: argv.includes("--malloc"),
    torchRetainingMalloc: argv.includes("--torch-retaining-malloc"),
    export: argv.includes("--export"),
    ab: argv.includes("--ab") ? argv[argv.indexOf("--ab") + 1].split(",") : [],
    json: argv.includes("--json") ? argv[argv.indexOf("--json") + 1] : undefined,
    write: !argv.includes("--no-write"),
    waitQuiet: get("--wait-quiet", 0),
    resummarise: argv.includes("--resummarise"),
  };
}

/** Make sure Debian's PyTorch and the pthread OpenBLAS are installed (install them when missing). */
function ensureTorch(): void {
  const missing = APT_PACKAGES.filter((p) => {
    try {
      const status = execFileSync("dpkg-query", ["-W", "-f=${Status}", p], { encoding: "utf8" });
      return !status.includes("install ok installed");
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    console.log(`bench:engine: installing ${missing.join(" ")} (apt-get) ...`);
    try {
      execFileSync("apt-get", ["install", "-y", ...missing], { stdio: "inherit" });
    } catch {
      try {
        execFileSync("apt-get", ["update"], { stdio: "inherit" });
        execFileSync("apt-get", ["install", "-y", ...missing], { stdio: "inherit" });
      } catch (error) {
        console.error(
          `bench:engine: could not install ${missing.join(" ")} with apt-get (${(error as Error).message}).\n` +
            `Install them yourself (as root: apt-get install -y ${APT_PACKAGES.join(" ")}) and run again; ` +
            "the PyTorch side of the benchmark needs Debian's python3-torch.",
        );
        process.exit(2);
      }
    }
  }
  try {
    execFileSync(PYTHON, ["-c", "import torch"], { stdio: "pipe" });
  } catch (error) {
    console.error(`bench:engine: ${PYTHON} cannot import torch: ${(error as Error).message}`);
    process.exit(2);
  }
}

// ------------------------------------------------------------------ workers

/** What an ORT worker varies (see bench/engine_ort.ts `WorkerConfig`); unset = the engine's defaults. */
interface OrtOptions {
  runtime?: RuntimeOptions;
  frozen?: boolean;
  exported?: boolean;
  fixBatchAxis?: boolean;
  profileDir?: string;
  /** Checkout whose built worker (`<tree>/.bench/bench/engine_ort.js`) to run instead of this one (`--ab`). */
  tree?: string;
  /** Extra environment of the worker process (`--malloc`). */
  env?: Readonly<Record<string, string>>;
}

function ortWorker(root: string, c: Configuration, options: OrtOptions = {}): Worker {
  const script = options.tree
    ? join(resolve(options.tree), ".bench", "bench", "engine_ort.js")
    : join(dirname(fileURLToPath(import.meta.url)), "engine_ort.js");
  const config = { mode: c.mode, size: c.size, batch: c.batch, ...options };
  const env = { ...process.env, OMP_WAIT_POLICY: "PASSIVE", ...options.env };
  return new Worker(`ORT worker (${c.name})`, process.execPath, [script, JSON.stringify(config)], {
    ...env,
    PWD: root,
  });
}

function torchWorker(root: string, threads: number, retainingMalloc: boolean): Worker {
  const env = {
    ...process.env,
    OMP_WAIT_POLICY: "PASSIVE",
    OMP_NUM_THREADS: String(threads),
    ...(retainingMalloc ? RETAINING_MALLOC_ENV : {}),
  };
  return new Worker(
    "PyTorch worker",
    PYTHON,
    [join(root, "bench", "engine_torch.py"), "--threads", String(threads)],
    env,
  );
}

// ------------------------------------------------------------------ measurement

interface SideResult {
  median_ms: number;
  q1_ms: number;
  round_medians_ms: number[];
  times_ms: number[];
  peak_rss_mb: number;
  run_median_ms?: number;
}

interface ConfigResult extends Configuration {
  ort: SideResult;
  torch: SideResult;
  ratio: number;
  ratio_q1: number;
  load_average_1m: number[];
  target?: number;
  met?: boolean;
  gflop: number;
}

/** Multiply-adds x 2 of the convolutions in one step (forward, or forward + backward in training). */
function convGflop(c: Configuration): number {
  const widths = [1, 32, 64, 128, 256];
  let macs = 0;
  let firstLayer = 0;
  for (let i = 0; i < 4; i++) {
    const out = c.size >> (i + 1);
    const layer = c.batch * widths[i + 1] * out * out * widths[i] * 16;
    if (i === 0) firstLayer = layer;
    macs += 2 * layer; // encoder conv i and the mirrored transposed conv have the same cost
  }
  // Training: forward + input gradient + weight gradient; the image needs no input gradient.
  const total = c.mode === "train" ? 3 * macs - firstLayer : macs;
  return (2 * total) / 1e9;
}

async function measure(
  root: string,
  c: Configuration,
  args: ReturnType<typeof parseArgs>,
): Promise<ConfigResult> {
  const ort = ortWorker(root, c);
  const torch = torchWorker(root, availableParallelism(), args.torchRetainingMalloc);
  await Promise.all([ort.send({ cmd: "hello" }), torch.send({ cmd: "hello" })]);
  const round = {
    cmd: "round",
    mode: c.mode,
    size: c.size,
    batch: c.batch,
    warmup: args.warmup,
    steps: args.steps,
  };
  const o: Reply[] = [];
  const t: Reply[] = [];
  const load: number[] = [];
  for (let r = 0; r < args.rounds; r++) {
    load.push(Number(loadavg()[0].toFixed(2)));
    o.push(await ort.send(round));
    t.push(await torch.send(round));
    process.stdout.write(
      `  round ${r + 1}: ORT ${median(o[r].times_ms!).toFixed(1)} ms, PyTorch ${median(t[r].times_ms!).toFixed(1)} ms\n`,
    );
  }
  await Promise.all([ort.close(), torch.close()]);
  const side = (replies: Reply[]): SideResult => {
    const times = replies.flatMap((x) => x.times_ms!);
    const runs = replies.flatMap((x) => x.run_ms ?? []);
    return {
      median_ms: median(times),
      q1_ms: quartile1(times),
      round_medians_ms: replies.map((x) => median(x.times_ms!)),
      times_ms: times,
      peak_rss_mb: Math.max(...replies.map((x) => x.peak_rss_mb ?? 0)),
      ...(runs.length ? { run_median_ms: median(runs) } : {}),
    };
  };
  const ortSide = side(o);
  const torchSide = side(t);
  const ratio = ortSide.median_ms / torchSide.median_ms;
  const goal = target(c);
  return {
    ...c,
    ort: ortSide,
    torch: torchSide,
    ratio,
    ratio_q1: ortSide.q1_ms / torchSide.q1_ms,
    load_average_1m: load,
    gflop: convGflop(c),
    ...(goal !== undefined ? { target: goal, met: ratio <= goal } : {}),
  };
}

interface VariantResult {
  config: string;
  variant: string;
  median_ms: number;
  q1_ms: number;
  round_medians_ms: number[];
  load_average_1m: number[];
  peak_rss_mb: number;
}

/** ORT-only A/B of engine options on one configuration: one worker per variant, interleaved round by round. */
async function compareVariants(
  root: string,
  c: Configuration,
  variants: ReadonlyArray<{ name: string; options: OrtOptions }>,
  args: ReturnType<typeof parseArgs>,
): Promise<VariantResult[]> {
  const workers = variants.map((v) => ortWorker(root, c, v.options));
  await Promise.all(workers.map((w) => w.send({ cmd: "hello" })));
  const times: number[][] = variants.map(() => []);
  const rounds: number[][] = variants.map(() => []);
  const rss: number[] = variants.map(() => 0);
  const load: number[] = [];
  for (let r = 0; r < args.rounds; r++) {
    load.push(Number(loadavg()[0].toFixed(2)));
    // Rotate the order each round: the first worker of a round was measured slower in every run.
    for (let j = 0; j < variants.length; j++) {
      const i = (j + r) % variants.length;
      const reply = await workers[i].send({ cmd: "round", warmup: args.warmup, steps: args.steps });
      times[i].push(...reply.times_ms!);
      rounds[i].push(median(reply.times_ms!));
      rss[i] = Math.max(rss[i], reply.peak_rss_mb ?? 0);
    }
  }
  await Promise.all(workers.map((w) => w.close()));
  return variants.map((v, i) => ({
    config: c.name,
    variant: v.name,
    median_ms: median(times[i]),
    q1_ms: quartile1(times[i]),
    round_medians_ms: rounds[i],
    load_average_1m: load,
    peak_rss_mb: rss[i],
  }));
}

/** Session options on the 128/16 training step: optimisation levels and intra-op spin-waiting. */
const SESSION_VARIANTS: ReadonlyArray<{ name: string; options: OrtOptions }> = [
  { name: "extended, no spinning (training default)", options: {} },
  { name: "extended, spinning", options: { runtime: { spinning: true } } },
  { name: "all", options: { runtime: { optimizationLevel: "all" } } },
  { name: "basic", options: { runtime: { optimizationLevel: "basic" } } },
];

/** ORT's arena (default) vs training steps without it under glibc malloc that keeps freed memory. */
const MALLOC_VARIANTS: ReadonlyArray<{ name: string; options: OrtOptions }> = [
  { name: "ORT arena (default)", options: {} },
  { name: "retaining malloc, no arena in training steps", options: { env: RETAINING_MALLOC_ENV } },
];

/** Inference with the weights fed at every run vs embedded as initializers (`frozen`). */
const FROZEN_VARIANTS: ReadonlyArray<{ name: string; options: OrtOptions }> = [
  { name: "weights fed", options: { frozen: false } },
  { name: "frozen (default)", options: { frozen: true } },
];

/** Inference through the compiled function (what `predict` runs) vs its exported ONNX file. */
const EXPORT_VARIANTS: ReadonlyArray<{ name: string; options: OrtOptions }> = [
  { name: "compiled function (predict)", options: {} },
  { name: "exported ONNX, plain session", options: { exported: true } },
  { name: "exported ONNX, N fixed to the batch", options: { exported: true, fixBatchAxis: true } },
];

async function profile(
  root: string,
  c: Configuration,
  args: ReturnType<typeof parseArgs>,
): Promise<ProfileSummary> {
  const dir = join(root, ".bench", "profiles");
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  const worker = ortWorker(root, c, { profileDir: dir });
  await worker.send({ cmd: "hello" });
  const reply = await worker.send({ cmd: "profile", steps: args.steps });
  await worker.close();
  const files = readdirSync(dir)
    .filter((f) => !before.has(f) && f.endsWith(".json"))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (files.length === 0) throw new Error(`no ORT profile was written to ${dir}`);
  return summariseProfile(files[0], c.name, reply.times_ms!, reply.run_ms!);
}

// ------------------------------------------------------------------ machine and report

function machineInfo(threads: number, withTorch: boolean) {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown";
  const flags = /flags\s*:\s*(.*)/.exec(cpuinfo)?.[1].split(" ") ?? [];
  const simd = ["avx2", "fma", "avx512f", "avx512_bf16", "amx_tile"].filter((f) => flags.includes(f));
  const hello = withTorch
    ? execFileSync(
        PYTHON,
        ["-c", "import torch; print(torch.__version__); print(torch.backends.mkldnn.is_available())"],
        { encoding: "utf8" },
      )
        .trim()
        .split("\n")
    : ["not used", "False"];
  const ortVersion = JSON.parse(
    readFileSync(join(repoRoot(), "node_modules/onnxruntime-node/package.json"), "utf8"),
  ).version as string;
  const openblas = (() => {
    try {
      return execFileSync("dpkg-query", ["-W", "-f=${Version}", "libopenblas0-pthread"], {
        encoding: "utf8",
      });
    } catch {
      return "unknown";
    }
  })();
  return {
    cpu: model,
    cores: availableParallelism(),
    simd,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    threads,
    node: process.version,
    onnxruntime_node: ortVersion,
    torch: hello[0],
    torch_mkldnn: hello[1] === "True",
    openblas_pthread: openblas,
    load_average_at_start: loadavg().map((x) => Number(x.toFixed(2))),
  };
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}

/** Convolution FLOPs (2 × multiply-adds, GFLOP) per step of each convolution role in a training profile. */
function roleGflop(config: string): Record<string, number> {
  const [size, batch] = config.split(" ")[1].split("/").map(Number);
  const widths = [1, 32, 64, 128, 256];
  let conv = 0;
  let first = 0;
  let im2col = 0;
  for (let i = 0; i < 4; i++) {
    const out = size >> (i + 1);
    const macs = batch * widths[i + 1] * out * out * widths[i] * 16;
    if (i === 0) first = macs;
    conv += macs;
    // one-hot im2col of the Conv's input and of the mirrored ConvT's output gradient: 16 taps × 16 MACs
    im2col += 2 * batch * widths[i] * out * out * 16 * 16;
  }
  const g = (macs: number) => (2 * macs) / 1e9;
  return {
    "forward Conv": g(conv),
    "forward ConvTranspose": g(conv),
    "weight grad (MatMul)": g(2 * conv),
    "weight grad im2col (one-hot Conv)": g(im2col),
    "Conv input grad (ConvTranspose)": g(conv - first),
    "ConvT input grad (Conv)": g(conv),
  };
}

/** What limits the training step, read from its profile: convolution throughput per role and the rest. */
function limits(p: ProfileSummary): string {
  const flops = roleGflop(p.config);
  const rate = (role: string) => {
    const ms = p.by_role.find((r) => r.role === role)?.ms;
    return ms ? (flops[role] / (ms / 1000)).toFixed(0) : "—";
  };
  const convShare = p.by_role.filter((r) => r.role in flops).reduce((a, r) => a + r.share, 0);
  const other = p.by_role.filter((r) => !(r.role in flops));
  return (
    `What limits it: convolution kernels take ${convShare.toFixed(0)} % of kernel time, at ` +
    `${Object.keys(flops)
      .map((role) => `${role} ${rate(role)}`)
      .join(", ")} GFLOP/s; the rest is ${other.map((r) => `${r.role} ${r.share.toFixed(0)} %`).join(", ")}.`
  );
}

function renderSection(report: Report): string {
  const m = report.machine;
  const lines: string[] = [];
  lines.push("## Engine speed: ONNX Runtime vs PyTorch (reference autoencoder)", "");
  lines.push(
    `Generated by \`${report.command}\` on ${report.date}. Reference AE of docs/engine.md §2 ` +
      `(${report.parameters.toLocaleString("en")} parameters, 1 channel); training step = forward + MSE + ` +
      "backward + Adam(1e-3) incl. BN running statistics, the project's `ConvAutoencoder` through `compileStep`; " +
      "inference = eval-mode forward through `compileFunction` (weights frozen into the graph, the default in eval mode); " +
      "engine defaults for everything else. " +
      `${report.rounds} interleaved rounds (ORT, PyTorch, ...) × ${report.steps} timed steps after ` +
      `${report.warmup} warm-up steps per round; medians over all timed steps; ${m.threads} threads each; ` +
      "each framework in its own process per configuration (peak RSS = that process's maxRSS).",
    "",
  );
  lines.push(
    "| configuration | PyTorch | ORT | ORT/PyTorch | target | ratio of lower quartiles | ORT GFLOP/s | PyTorch GFLOP/s | peak RSS ORT | peak RSS PyTorch |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const r of report.results) {
    const goal = r.target === undefined ? "—" : `≤ ${r.target.toFixed(1)}x ${r.met ? "✓" : "✗"}`;
    lines.push(
      `| ${r.name} | ${fmtMs(r.torch.median_ms)} | ${fmtMs(r.ort.median_ms)} | **${r.ratio.toFixed(2)}x** | ${goal} | ${r.ratio_q1.toFixed(2)}x | ` +
        `${(r.gflop / (r.ort.median_ms / 1000)).toFixed(0)} | ${(r.gflop / (r.torch.median_ms / 1000)).toFixed(0)} | ` +
        `${r.ort.peak_rss_mb.toFixed(0)} MB | ${r.torch.peak_rss_mb.toFixed(0)} MB |`,
    );
  }
  const loads = report.results.flatMap((r) => r.load_average_1m);
  const wait = report.quiet_wait;
  if (wait && !wait.quiet)
    lines.push(
      "",
      `**The machine was not quiet**: the run waited ${wait.waited_min.toFixed(1)} min for the 1-minute load to fall ` +
        `below ${QUIET_LOAD} (lowest seen ${wait.min_load.toFixed(2)}) and then ran anyway, beside other engineers' jobs.`,
    );
  lines.push(
    "",
    `1-minute load average during the rounds: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} ` +
      `on ${m.cores} cores. Other processes shared the machine when the load exceeds the core count; the ` +
      "interleaving spreads that over both sides, and the lower-quartile ratio is given as a less noisy companion.",
    "",
  );
  if (report.variants) {
    lines.push("Engine options, ORT only (one worker per variant, interleaved round by round):", "");
    lines.push(
      "| configuration | variant | median | lower quartile | peak RSS |",
      "|---|---|---:|---:|---:|",
    );
    for (const v of report.variants)
      lines.push(
        `| ${v.config} | ${v.variant} | ${fmtMs(v.median_ms)} | ${fmtMs(v.q1_ms)} | ${v.peak_rss_mb ? `${v.peak_rss_mb.toFixed(0)} MB` : "—"} |`,
      );
    lines.push("");
  }
  if (report.profiles) {
    for (const p of report.profiles) {
      lines.push(`ORT profile, ${p.config} (${p.steps} steps; per step):`, "");
      lines.push(
        `- step as the caller sees it ${fmtMs(p.step_ms)}; \`session.run\` ${fmtMs(p.run_ms)}; ORT model_run ${fmtMs(p.model_run_ms)}; ` +
          `sum of kernel times ${fmtMs(p.kernel_ms)} → outside kernels ${fmtMs(p.step_ms - p.kernel_ms)} ` +
          `(${(((p.step_ms - p.kernel_ms) / p.step_ms) * 100).toFixed(1)} %).`,
      );
      lines.push(
        `- by op type: ${p.by_op
          .slice(0, 8)
          .map((o) => `${o.op} ${o.share.toFixed(1)} %`)
          .join(", ")}.`,
      );
      lines.push(
        `- by role: ${p.by_role
          .slice(0, 8)
          .map((o) => `${o.role} ${fmtMs(o.ms)} (${o.share.toFixed(1)} %)`)
          .join(", ")}.`,
        `- ${limits(p)}`,
        "",
      );
    }
  }
  lines.push(
    `Machine: ${m.cpu}, ${m.cores} cores (${m.simd.join(", ")}), ${m.memory_gb} GB; Node ${m.node}, ` +
      `onnxruntime-node ${m.onnxruntime_node}, PyTorch ${m.torch} (Debian python3-torch, mkldnn ${m.torch_mkldnn ? "on" : "off"}, ` +
      `libopenblas0-pthread ${m.openblas_pthread}), \`OMP_WAIT_POLICY=PASSIVE\`. Load average at start: ` +
      `${m.load_average_at_start.join(", ")}. Wall time ${(report.wall_s / 60).toFixed(1)} min. Raw data: docs/bench/engine.json.`,
  );
  return lines.join("\n");
}

interface Report {
  command: string;
  date: string;
  wall_s: number;
  quiet_wait?: QuietWait;
  rounds: number;
  steps: number;
  warmup: number;
  parameters: number;
  machine: ReturnType<typeof machineInfo>;
  results: ConfigResult[];
  variants?: VariantResult[];
  profiles?: ProfileSummary[];
}

/** Wait up to `minutes` for the 1-minute load average to fall below `QUIET_LOAD`; returns what happened. */
async function waitForQuiet(minutes: number): Promise<QuietWait> {
  const start = performance.now();
  const loads: number[] = [loadavg()[0]];
  while (loads[loads.length - 1] >= QUIET_LOAD && performance.now() - start < minutes * 60_000) {
    await new Promise((r) => setTimeout(r, 30_000));
    loads.push(loadavg()[0]);
    console.log(
      `bench:engine: 1-minute load ${loads[loads.length - 1].toFixed(2)}, waiting for < ${QUIET_LOAD}`,
    );
  }
  return {
    waited_min: (performance.now() - start) / 60_000,
    quiet: loads[loads.length - 1] < QUIET_LOAD,
    min_load: Math.min(...loads),
  };
}

const QUIET_LOAD = 1.5;

interface QuietWait {
  waited_min: number;
  quiet: boolean;
  min_load: number;
}

/**
 * `--resummarise`: summarise the ORT profiles of the last run again (after a change to the role
 * classification in bench/profile.ts) and rewrite docs/bench/engine.json and the results section,
 * without measuring anything.
 */
function resummarise(root: string): void {
  const path = join(root, "docs", "bench", "engine.json");
  const report = JSON.parse(readFileSync(path, "utf8")) as Report;
  report.profiles = report.profiles?.map((p) => {
    const repeated = (ms: number) => Array.from({ length: p.steps }, () => ms);
    return summariseProfile(p.file, p.config, repeated(p.step_ms), repeated(p.run_ms));
  });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  writeResultsSection(root, "engine", renderSection(report));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.resummarise) {
    resummarise(repoRoot());
    return;
  }
  const quietWait = args.waitQuiet > 0 ? await waitForQuiet(args.waitQuiet) : undefined;
  const started = performance.now();
  const root = repoRoot();
  const configs = CONFIGURATIONS.filter((c) => !args.only || args.only.includes(c.name));
  // PyTorch is needed only for the comparisons; `--only none` runs the ORT-only extras alone.
  const withTorch = configs.length > 0;
  if (withTorch) ensureTorch();
  const threads = availableParallelism();
  const machine = machineInfo(threads, withTorch);
  console.log(
    `bench:engine: ${machine.cpu}, ${threads} threads, ORT ${machine.onnxruntime_node}, PyTorch ${machine.torch}`,
  );
  const results: ConfigResult[] = [];
  for (const c of configs) {
    console.log(`${c.name}:`);
    const r = await measure(root, c, args);
    results.push(r);
    console.log(
      `  median ORT ${fmtMs(r.ort.median_ms)}, PyTorch ${fmtMs(r.torch.median_ms)} -> ${r.ratio.toFixed(2)}x` +
        (r.target !== undefined ? ` (target ≤ ${r.target}x: ${r.met ? "met" : "missed"})` : ""),
    );
  }
  const variants: VariantResult[] = [];
  if (args.sessionOptions) {
    console.log("ORT session options (train 128/16):");
    const c = CONFIGURATIONS.find((x) => x.name === "train 128/16")!;
    variants.push(...(await compareVariants(root, c, SESSION_VARIANTS, args)));
  }
  if (args.malloc) {
    for (const c of CONFIGURATIONS.filter((x) =>
      ["train 128/16", "train 256/16", "infer 128/16"].includes(x.name),
    )) {
      console.log(`malloc and ORT arena (${c.name}):`);
      variants.push(...(await compareVariants(root, c, MALLOC_VARIANTS, args)));
    }
  }
  if (args.frozen) {
    for (const c of CONFIGURATIONS.filter((x) => x.mode === "infer")) {
      console.log(`frozen weights (${c.name}):`);
      variants.push(...(await compareVariants(root, c, FROZEN_VARIANTS, args)));
    }
  }
  if (args.export) {
    for (const c of CONFIGURATIONS.filter((x) => x.mode === "infer" && x.batch === 16)) {
      console.log(`exported graph (${c.name}):`);
      variants.push(...(await compareVariants(root, c, EXPORT_VARIANTS, args)));
    }
  }
  if (args.ab.length > 0) {
    const trees = [
      { name: "this tree", options: {} },
      ...args.ab.map((tree) => ({ name: `tree ${tree}`, options: { tree } })),
    ];
    for (const c of CONFIGURATIONS.filter((x) => x.name === "train 128/16" || x.name === "train 256/16")) {
      console.log(`A/B of trees (${c.name}):`);
      variants.push(...(await compareVariants(root, c, trees, args)));
    }
  }
  for (const v of variants) console.log(`  ${v.config}, ${v.variant}: ${fmtMs(v.median_ms)}`);
  let profiles: ProfileSummary[] | undefined;
  if (args.profile) {
    profiles = [];
    for (const c of CONFIGURATIONS.filter((x) => x.name === "train 128/16" || x.name === "train 256/16")) {
      console.log(`profiling ${c.name} ...`);
      const p = await profile(root, c, args);
      profiles.push(p);
      console.log(
        `  ${p.by_op
          .slice(0, 6)
          .map((o) => `${o.op} ${o.share.toFixed(1)}%`)
          .join(", ")}`,
      );
    }
  }
  const report: Report = {
    command: `npm run bench:engine${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    date: new Date().toISOString().slice(0, 10),
    wall_s: (performance.now() - started) / 1000,
    ...(quietWait ? { quiet_wait: quietWait } : {}),
    rounds: args.rounds,
    steps: args.steps,
    warmup: args.warmup,
    parameters: 1378657,
    machine,
    results,
    ...(variants.length ? { variants } : {}),
    ...(profiles ? { profiles } : {}),
  };
  const section = renderSection(report);
  console.log(`\n${section}`);
  if (args.json) {
    writeFileSync(resolve(root, args.json), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwrote ${resolve(root, args.json)} (docs/results.md untouched)`);
  } else if (args.write) {
    mkdirSync(join(root, "docs", "bench"), { recursive: true });
    writeFileSync(join(root, "docs", "bench", "engine.json"), `${JSON.stringify(report, null, 2)}\n`);
    writeResultsSection(root, "engine", section);
    console.log(
      `\nwrote ${resolve(root, "docs/bench/engine.json")} and the engine section of docs/results.md`,
    );
  }
}

await main();
