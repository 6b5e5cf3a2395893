/**
 * Score an already trained model with a different scoring config (e.g. SQUID with
 * `{"score":"reconstruction"}`: the same weights, the image score taken from the residual instead of
 * the discriminator) and record the threshold-free metrics in docs/experiments/<name>.json. The
 * model's thresholds were calibrated for its own score, so threshold-dependent metrics are omitted.
 *
 *   npx tsx scripts/rescore.ts --name zhanglab-squid-s0-reconscore --model runs/zhanglab-squid-s0/model \
 *     --data ../shared/data/medical/chest_xray_zhanglab --override '{"score":"reconstruction"}'
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { evaluate, getMethod } from "../src/index.js";
import { parseMethodConfig } from "../src/methods/index.js";

const { values } = parseArgs({
  options: {
    name: { type: "string" },
    model: { type: "string" },
    data: { type: "string" },
    override: { type: "string" },
  },
});
if (!values.name || !values.model || !values.data || !values.override) {
  throw new Error("--name, --model, --data and --override are required");
}
const copy = join("runs", values.name, "model");
mkdirSync(copy, { recursive: true });
cpSync(values.model, copy, { recursive: true });
const manifestPath = join(copy, "anomalyscope.json");
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const method = getMethod(manifest.method);
manifest.config = parseMethodConfig(method, { ...manifest.config, ...JSON.parse(values.override) });
manifest.scoring = method.scoring(manifest.config as never);
writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
const started = Date.now();
const { metrics } = await evaluate({
  model: copy,
  data: values.data,
  out: join("runs", values.name, "test"),
});
const record = {
  name: values.name,
  command: `npx tsx scripts/rescore.ts ${process.argv.slice(2).join(" ")}`,
  date: new Date().toISOString(),
  data: values.data,
  method: manifest.method,
  config: manifest.config,
  trainedModel: values.model,
  seed: manifest.training.seed,
  epochs: manifest.training.epochs,
  testSeconds: (Date.now() - started) / 1000,
  trainSeconds: manifest.training.wallSeconds,
  metrics: { image_auroc: metrics.image_auroc, pixel_auroc: metrics.pixel_auroc, aupro: metrics.aupro },
  note: "same trained weights as trainedModel, rescored; threshold-dependent metrics omitted",
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
};
writeFileSync(join("docs/experiments", `${values.name}.json`), `${JSON.stringify(record, null, 2)}\n`);
process.stdout.write(`${values.name}: image AUROC ${metrics.image_auroc?.toFixed(4)}\n`);
