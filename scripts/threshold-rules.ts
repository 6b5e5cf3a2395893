/**
 * Accuracy and F1 on the test split of one trained model under both label-free threshold rules: the
 * 99th percentile of its normal validation scores, and F1-max on the validation set with synthetic
 * anomalies (rebuilt from the seed and defect kinds the model's manifest records, or the defaults). The
 * thresholds are chosen on validation data only; the test split is scored once at the end to report
 * both. Writes docs/experiments/<name>.json.
 *
 *   npx tsx scripts/threshold-rules.ts --name tire-ae-select-s0-thresholds --model runs/tire-ae-select-s0/model \
 *     --data /work/shared/data/industrial/mvtec3d_tire
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadDataset } from "../src/data/index.js";
import "../src/methods/index.js";
import { accuracyF1AtThreshold } from "../src/metrics/index.js";
import { loadModel } from "../src/model/directory.js";
import { Scorer, scoreSamples } from "../src/score/scorer.js";
import { CalibrationCollector } from "../src/train/calibrate.js";
import { buildSyntheticValidation, calibrateOnSet } from "../src/train/selection.js";

const { values } = parseArgs({
  options: { name: { type: "string" }, model: { type: "string" }, data: { type: "string" } },
});
if (!values.name || !values.model || !values.data) throw new Error("--name, --model and --data are required");
const { manifest, instance } = await loadModel(values.model);
const seed = Number(manifest.training.seed ?? 0);
const batchSize = 16;
const dataset = await loadDataset(values.data, { seed });
const scorer = new Scorer(instance, manifest.scoring, manifest.imageSize, manifest.channels);
const plane = manifest.imageSize * manifest.imageSize;

const normal = new CalibrationCollector(dataset.validation.length, plane);
await scoreSamples(scorer, dataset.validation, { batchSize, withMasks: true }, (r) =>
  normal.add({ score: r.score, map: r.map, label: r.sample.label, mask: r.mask }),
);
const percentile = normal.finish(99, "real").thresholds.image;
const synthetic = await buildSyntheticValidation(dataset.validation, {
  imageSize: manifest.imageSize,
  channels: manifest.channels,
  batchSize,
  seed: manifest.selection?.set?.seed ?? seed,
  defects: manifest.selection?.set?.source === "synthetic" ? manifest.selection.set.defects : undefined,
});
const f1 = (await calibrateOnSet(scorer, synthetic, batchSize, 99)).thresholds.image;

const scores: number[] = [];
const labels: number[] = [];
await scoreSamples(scorer, dataset.test, { batchSize, withMasks: false }, (r) => {
  scores.push(r.score);
  labels.push(r.sample.label);
});
await scorer.dispose();
await instance.dispose();
const rules = [percentile, f1].map((choice) => ({
  rule: choice.rule,
  provenance: choice.provenance,
  threshold: choice.threshold,
  ...accuracyF1AtThreshold(scores, labels, choice.threshold),
}));
const record = {
  name: values.name,
  command: `npx tsx scripts/threshold-rules.ts ${process.argv.slice(2).join(" ")}`,
  date: new Date().toISOString(),
  model: values.model,
  data: values.data,
  test: { normal: labels.filter((l) => l === 0).length, anomalous: labels.filter((l) => l === 1).length },
  rules,
};
mkdirSync("docs/experiments", { recursive: true });
writeFileSync(join("docs/experiments", `${values.name}.json`), `${JSON.stringify(record, null, 2)}\n`);
for (const r of rules)
  process.stdout.write(
    `${r.rule}: threshold ${r.threshold.toPrecision(4)} accuracy ${r.accuracy.toFixed(4)} F1 ${r.f1.toFixed(4)}\n`,
  );
