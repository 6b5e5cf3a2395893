/**
 * One experiment for docs/results.md: train a method on a data set, test it, and record the exact
 * command, the data, the metrics, the wall times, the epochs and the machine in
 * docs/experiments/<name>.json (models and reports go to runs/<name>/, not committed).
 *
 *   npx tsx scripts/experiment.ts --name zhanglab-ae-s0 --data ../shared/data/medical/chest_xray_zhanglab \
 *     --method ae --epochs 30 --image-size 128 --seed 0 [--batch-size 16] [--config '{"loss":"ssim"}']
 *     [--overwrite]   (replace an earlier run of that name in runs/<name>/)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { evaluate, train } from "../src/index.js";

const { values } = parseArgs({
  options: {
    name: { type: "string" },
    data: { type: "string" },
    method: { type: "string" },
    epochs: { type: "string" },
    "image-size": { type: "string" },
    "batch-size": { type: "string" },
    seed: { type: "string", default: "0" },
    config: { type: "string" },
    overwrite: { type: "boolean", default: false },
  },
});
for (const key of ["name", "data", "method", "epochs", "image-size"] as const) {
  if (!values[key]) throw new Error(`--${key} is required`);
}
const name = values.name!;
const runDir = join("runs", name);
const loadBefore = loadavg()[0];
const trainStart = Date.now();
const trained = await train({
  data: values.data!,
  method: values.method!,
  config: values.config ? JSON.parse(values.config) : undefined,
  epochs: Number(values.epochs),
  imageSize: Number(values["image-size"]),
  batchSize: values["batch-size"] ? Number(values["batch-size"]) : undefined,
  seed: Number(values.seed),
  out: join(runDir, "model"),
  overwrite: values.overwrite,
});
const trainSeconds = (Date.now() - trainStart) / 1000;
const testStart = Date.now();
const tested = await evaluate({
  model: join(runDir, "model"),
  data: values.data!,
  out: join(runDir, "test"),
  overwrite: values.overwrite,
});
const testSeconds = (Date.now() - testStart) / 1000;
const record = {
  name,
  command: `npx tsx scripts/experiment.ts ${process.argv.slice(2).join(" ")}`,
  date: new Date().toISOString(),
  data: values.data,
  method: values.method,
  config: trained.manifest.config,
  seed: Number(values.seed),
  epochs: trained.epochsRun,
  imageSize: Number(values["image-size"]),
  trainSeconds,
  testSeconds,
  metrics: tested.metrics,
  validationCurve: trained.history.map((h) => ({
    epoch: h.epoch + 1,
    losses: h.losses,
    validationNormalScore: h.validationNormalScore,
    validationAuroc: h.validationAuroc,
  })),
  thresholdProvenance: trained.manifest.thresholds.image.provenance,
  machine: {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    node: process.version,
    loadBefore,
    loadAfter: loadavg()[0],
  },
};
mkdirSync("docs/experiments", { recursive: true });
writeFileSync(join("docs/experiments", `${name}.json`), `${JSON.stringify(record, null, 2)}\n`);
const m = tested.metrics;
process.stdout.write(
  `${name}: image AUROC ${m.image_auroc?.toFixed(4)} pixel AUROC ${m.pixel_auroc?.toFixed(4) ?? "n/a"} ` +
    `AUPRO ${m.aupro?.toFixed(4) ?? "n/a"} acc ${m.accuracy_at_threshold.toFixed(4)} F1 ${m.f1_at_threshold.toFixed(4)} ` +
    `train ${trainSeconds.toFixed(0)} s\n`,
);
