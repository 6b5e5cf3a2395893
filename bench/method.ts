/**
 * `npm run bench:method -- --method squid` (issue 13): the training iterations of one registered
 * method on the engine, with the FLOPs of every training step it compiles. The benchmark has no
 * PyTorch counterpart of the methods (only of the reference autoencoder, `bench:engine`), so it
 * reports time, GFLOP and GFLOP/s alone.
 *
 * The method is created through the registry with its defaults (or `--config`), fed seeded random
 * images, and driven through `warmup` untimed iterations (which compile its steps) and `iterations`
 * timed ones, exactly as the trainer calls `trainBatch`. An iteration is whatever the method does
 * per batch (SQUID: a discriminator step, plus a generator step every second iteration), so the
 * figures are the mean time per iteration and the time of each kind of step is derived from how
 * often each compiled step ran (counted, not assumed). Peak RSS is this process's maxRSS.
 *
 * Writes docs/bench/method-<method>.json and the section of docs/results.md between
 * `<!-- bench:method-<method>:start -->` and `<!-- bench:method-<method>:end -->`.
 *
 * Flags: --method NAME (required) --config JSON --size N (method default) --batch N (method default)
 *        --channels 1|3 (of the data, 1) --iterations N (8) --warmup N (2) --no-write
 *        --runtime JSON (engine runtime defaults for every graph, e.g. '{"memoryPattern":false}')
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { defaultRuntimeOptions, observeCompiledSteps, type TrainingStep } from "../src/engine/index.js";
import { getMethod, parseMethodConfig } from "../src/methods/index.js";
import { Random } from "../src/util/random.js";
import { median, repoRoot, writeResultsSection } from "./common.js";

const { values } = parseArgs({
  options: {
    method: { type: "string" },
    config: { type: "string" },
    size: { type: "string" },
    batch: { type: "string" },
    channels: { type: "string", default: "1" },
    runtime: { type: "string" },
    iterations: { type: "string", default: "8" },
    warmup: { type: "string", default: "2" },
    "no-write": { type: "boolean", default: false },
  },
});
if (!values.method) throw new Error("--method is required, e.g. npm run bench:method -- --method squid");

const root = repoRoot();
if (values.runtime) Object.assign(defaultRuntimeOptions, JSON.parse(values.runtime));
const method = getMethod(values.method);
const config = parseMethodConfig(method, values.config ? JSON.parse(values.config) : {});
const size = values.size ? Number(values.size) : method.defaults.imageSize;
const batch = values.batch ? Number(values.batch) : method.defaults.batchSize;
const channels = method.channels(config, Number(values.channels));
const iterations = Number(values.iterations);
const warmup = Number(values.warmup);
const started = performance.now();
const loadAtStart = loadavg().map((x) => Number(x.toFixed(2)));

const steps: Array<TrainingStep<never>> = [];
const stopObserving = observeCompiledSteps((step) => steps.push(step as TrainingStep<never>));
const instance = method.create(config, { imageSize: size, channels, random: new Random(0) });
const parameters = Object.values(instance.modules).reduce((a, m) => a + m.parameterCount(), 0);
const images = new Random(1);
const batchImages = () =>
  Float32Array.from({ length: batch * channels * size * size }, () => images.uniform());

const iterationMs: number[] = [];
let runsBefore = new Map<string, number>();
for (let i = 0; i < warmup + iterations; i++) {
  if (i === warmup) runsBefore = new Map(steps.map((s) => [s.name, s.stepCount]));
  const feed = batchImages();
  const t0 = performance.now();
  await instance.trainBatch(feed, batch, { epoch: 0, epochs: 1, iteration: i, random: new Random(100 + i) });
  const ms = performance.now() - t0;
  if (i >= warmup) iterationMs.push(ms);
  console.log(`iteration ${i}${i < warmup ? " (warm-up)" : ""}: ${ms.toFixed(0)} ms`);
}
stopObserving();
const perStep = steps.map((s) => ({
  name: s.name,
  gflop: s.flops / 1e9,
  runs_per_iteration: (s.stepCount - (runsBefore.get(s.name) ?? 0)) / iterations,
}));
await instance.dispose();

const meanMs = iterationMs.reduce((a, b) => a + b, 0) / iterations;
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
  parameters,
  warmup,
  iterations,
  iteration_ms: iterationMs.map((x) => Number(x.toFixed(1))),
  mean_iteration_ms: meanMs,
  median_iteration_ms: median(iterationMs),
  steps: perStep,
  gflop_per_iteration: gflopPerIteration,
  gflop_per_s: gflopPerIteration / (meanMs / 1000),
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  wall_s: (performance.now() - started) / 1000,
  machine: {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: availableParallelism(),
    simd: ["avx2", "fma", "avx512f"].filter((f) => flags.includes(f)),
    memory_gb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    onnxruntime_node: JSON.parse(
      readFileSync(join(root, "node_modules/onnxruntime-node/package.json"), "utf8"),
    ).version as string,
    load_average_at_start: loadAtStart,
    load_average_at_end: loadavg().map((x) => Number(x.toFixed(2))),
  },
};

const fmt = (x: number, digits = 1) => x.toFixed(digits);
const section = [
  `## Training speed of \`${method.name}\` on the engine`,
  "",
  `Generated by \`${report.command}\` on ${report.date}${values.runtime ? ` (engine runtime options \`${values.runtime}\`)` : ""}: ${method.name} with ${values.config ? `config \`${values.config}\`` : "its default configuration"}, ${size} px, batch ${batch}, ${parameters.toLocaleString("en-US")} parameters; seeded random images; ${warmup} warm-up iterations (compilation), then ${iterations} timed iterations through \`trainBatch\`, as the trainer calls it. No PyTorch counterpart in the benchmark.`,
  "",
  "| compiled step | GFLOP per run (conv + matmul) | runs per iteration |",
  "|---|---:|---:|",
  ...perStep.map((s) => `| ${s.name} | ${fmt(s.gflop)} | ${fmt(s.runs_per_iteration, 2)} |`),
  "",
  `Mean iteration ${fmt(meanMs / 1000, 2)} s (median ${fmt(report.median_iteration_ms / 1000, 2)} s; all: ${iterationMs.map((x) => fmt(x / 1000, 2)).join(", ")} s) → ${fmt(gflopPerIteration)} GFLOP per iteration at ${fmt(report.gflop_per_s, 0)} GFLOP/s; peak RSS ${report.peak_rss_mb} MB; wall time ${fmt(report.wall_s / 60)} min.`,
  "",
  `Machine: ${report.machine.cpu}, ${report.machine.cores} cores (${report.machine.simd.join(", ")}), ${report.machine.memory_gb} GB; Node ${report.machine.node}, onnxruntime-node ${report.machine.onnxruntime_node}. 1-minute load average at start / end: ${loadAtStart[0]} / ${report.machine.load_average_at_end[0]}. Raw data: docs/bench/method-${method.name}.json.`,
].join("\n");
console.log(`\n${section}`);
if (!values["no-write"]) {
  mkdirSync(join(root, "docs", "bench"), { recursive: true });
  writeFileSync(
    join(root, "docs", "bench", `method-${method.name}.json`),
    `${JSON.stringify(report, null, 2)}\n`,
  );
  writeResultsSection(root, `method-${method.name}`, section);
}
