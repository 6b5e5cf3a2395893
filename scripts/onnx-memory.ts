/**
 * Size and peak memory of a model's ONNX export in plain onnxruntime-node (issue 25: anomalib's users
 * report PatchCore exports asking ONNX Runtime for hundreds of GB, anomalib #967):
 *
 *   npx tsx scripts/onnx-memory.ts --model runs/tire-patchcore-s0/model --name tire-patchcore-s0 [--batches 1,16]
 *
 * Exports the model to runs/<name>/model.onnx, then for every batch size starts a fresh Node process
 * that only imports onnxruntime-node, creates a session on the file (default session options) and
 * runs one batch of seeded uniform images; it reports the process's peak resident set (maxRSS),
 * the resident set before the session (Node + ORT loaded) and the run's seconds. Written to
 * docs/experiments/<name>-onnx-memory.json.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { exportModel } from "../src/index.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    name: { type: "string" },
    batches: { type: "string", default: "1,16" },
  },
});
if (!values.model || !values.name) throw new Error("--model and --name are required");
const manifest = JSON.parse(readFileSync(join(values.model, "anomalyscope.json"), "utf8"));
const file = join("runs", values.name, "model.onnx");
mkdirSync(join("runs", values.name), { recursive: true });
await exportModel(values.model, file);

const child = `
import ort from "onnxruntime-node";
const [file, batch, channels, size] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const before = process.memoryUsage().rss;
const session = await ort.InferenceSession.create(file);
let s = 12345;
const data = Float32Array.from({ length: batch * channels * size * size }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32));
const started = performance.now();
await session.run({ input: new ort.Tensor("float32", data, [batch, channels, size, size]) });
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ rssBeforeSessionBytes: before, peakRssBytes: process.resourceUsage().maxRSS * 1024, runSeconds: seconds }));
`;
const runs = values.batches.split(",").map((b) => {
  const batch = Number(b);
  const out = execFileSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      child,
      file,
      String(batch),
      String(manifest.channels),
      String(manifest.imageSize),
    ],
    { encoding: "utf8" },
  );
  return { batch, ...JSON.parse(out) };
});
const record = {
  name: values.name,
  command: `npx tsx scripts/onnx-memory.ts ${process.argv.slice(2).join(" ")}`,
  date: new Date().toISOString(),
  model: values.model,
  method: manifest.method,
  imageSize: manifest.imageSize,
  onnxBytes: statSync(file).size,
  runs,
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
};
writeFileSync(
  join("docs/experiments", `${values.name}-onnx-memory.json`),
  `${JSON.stringify(record, null, 2)}\n`,
);
for (const r of runs)
  process.stdout.write(
    `${values.name}: ONNX ${(record.onnxBytes / 2 ** 20).toFixed(1)} MiB, batch ${r.batch}: peak RSS ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB (before session ${(r.rssBeforeSessionBytes / 2 ** 20).toFixed(0)} MiB), run ${r.runSeconds.toFixed(2)} s\n`,
  );
