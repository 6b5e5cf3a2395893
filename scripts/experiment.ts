/**
 * One experiment for docs/results.md: train a method on a data set, test it, and record the exact
 * command, the data, the metrics, the wall times, the epochs and the machine in
 * docs/experiments/<name>.json (models and reports go to runs/<name>/, not committed).
 *
 *   npx tsx scripts/experiment.ts --name zhanglab-ae-s0 --data ../shared/data/medical/chest_xray_zhanglab \
 *     --method ae --epochs 30 --image-size 128 --seed 0 [--batch-size 16] [--config '{"loss":"ssim"}'] \
 *     [--select last|synthetic|labelled] [--threshold-rule percentile|synthetic-f1] [--synthetic-defects lesion,stain] \
 *     [--keep-epochs] [--overwrite]   (--overwrite replaces an earlier run of that name in runs/<name>/)
 *
 * `--keep-epochs` copies every epoch's checkpoint to runs/<name>/epochs/ so that
 * scripts/epoch-curve.ts can score each epoch on the test split afterwards — an analysis (the oracle
 * best test epoch), never a selection.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
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
    select: { type: "string" },
    "threshold-rule": { type: "string" },
    "synthetic-defects": { type: "string" },
    "keep-epochs": { type: "boolean", default: false },
  },
});
for (const key of ["name", "data", "method", "epochs", "image-size"] as const) {
  if (!values[key]) throw new Error(`--${key} is required`);
}
const name = values.name!;
const runDir = join("runs", name);
const loadBefore = loadavg()[0];
const trainStart = Date.now();
const epochsDir = join(runDir, "epochs");
if (values["keep-epochs"]) mkdirSync(epochsDir, { recursive: true });
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
  select: values.select as "last" | "synthetic" | "labelled" | undefined,
  thresholdRule: values["threshold-rule"] as "percentile" | "synthetic-f1" | undefined,
  syntheticDefects: values["synthetic-defects"],
  onEpochEnd: values["keep-epochs"]
    ? (epoch) =>
        copyFileSync(
          join(runDir, "model", "checkpoint.safetensors"),
          join(epochsDir, `epoch-${String(epoch + 1).padStart(3, "0")}.safetensors`),
        )
    : undefined,
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
    ...(h.selection ? { selection: h.selection } : {}),
  })),
  selection: trained.manifest.selection,
  thresholdRule: trained.manifest.thresholds.image.rule,
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
    `train ${trainSeconds.toFixed(0)} s` +
    (trained.manifest.selection?.criterion !== "last"
      ? ` selected epoch ${trained.manifest.selection?.selectedEpoch}/${trained.epochsRun}`
      : "") +
    "\n",
);
