/**
 * Where a trained model's raw anomaly map (the per-pixel squared reconstruction error for the
 * reconstruction methods) is large, by image class and by region — an analysis of *why* a model
 * scores as it does, never a selection. For every test image of the data set (the split `evaluate`
 * uses) it predicts the raw map at the model's input size and reports:
 *   - per class (normal / anomalous test images): the mean over images of the image's mean map value;
 *   - inside anomalous images, per region: `defect` (mask > 0), `background` (outside the mask, input
 *     intensity ≤ --background, e.g. the black surround of an MRI slice) and `other` (the rest):
 *     the median and mean per-pixel map value.
 * Masks and images are sampled at the map's resolution (nearest pixel). The result goes to
 * docs/experiments/regions/<name>.json.
 *
 *   npx tsx scripts/region-errors.ts --name lgg-mamanet-s0 --model runs/lgg-mamanet-s0/model \
 *     --data ../shared/data/medical/lgg_brain_mri [--background 0.08]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadModel } from "../src/api/model.js";
import { loadDataset } from "../src/data/index.js";
import { type Image, readImage } from "../src/io/index.js";

const { values } = parseArgs({
  options: {
    name: { type: "string" },
    model: { type: "string" },
    data: { type: "string" },
    background: { type: "string", default: "0.08" },
  },
});
if (!values.name || !values.model || !values.data) throw new Error("--name, --model and --data are required");
const backgroundLevel = Number(values.background);

/** Value of channel 0 of `image` at map pixel (x, y) of a w×h map, nearest neighbour. */
function sampleAt(image: Image, x: number, y: number, w: number, h: number): number {
  const sx = Math.min(image.width - 1, Math.floor(((x + 0.5) * image.width) / w));
  const sy = Math.min(image.height - 1, Math.floor(((y + 0.5) * image.height) / h));
  return image.data[(sy * image.width + sx) * image.channels];
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / Math.max(1, a.length);
const median = (a: number[]) => (a.length === 0 ? Number.NaN : [...a].sort((p, q) => p - q)[a.length >> 1]);

const dataset = await loadDataset(values.data, { seed: 0 });
const model = await loadModel(values.model);
const imageMeans: Record<"normal" | "anomalous", number[]> = { normal: [], anomalous: [] };
const regions: Record<"defect" | "background" | "other", number[]> = {
  defect: [],
  background: [],
  other: [],
};
try {
  for (const sample of dataset.test) {
    const prediction = await model.predict(sample.path);
    const { rawMap, width, height } = prediction;
    imageMeans[sample.label === 1 ? "anomalous" : "normal"].push(mean(Array.from(rawMap)));
    if (sample.label !== 1 || sample.maskPaths.length === 0) continue;
    const image = await readImage(sample.path);
    const masks = await Promise.all(sample.maskPaths.map((p) => readImage(p)));
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const inDefect = masks.some((m) => sampleAt(m, x, y, width, height) > 0);
        const region = inDefect
          ? "defect"
          : sampleAt(image, x, y, width, height) <= backgroundLevel
            ? "background"
            : "other";
        regions[region].push(rawMap[y * width + x]);
      }
  }
} finally {
  await model.close();
}
const record = {
  name: values.name,
  command: `npx tsx scripts/region-errors.ts ${process.argv.slice(2).join(" ")}`,
  date: new Date().toISOString(),
  model: values.model,
  data: values.data,
  backgroundLevel,
  images: Object.fromEntries(
    Object.entries(imageMeans).map(([k, a]) => [k, { count: a.length, meanOfImageMeans: mean(a) }]),
  ),
  anomalousImageRegions: Object.fromEntries(
    Object.entries(regions).map(([k, a]) => [k, { pixels: a.length, median: median(a), mean: mean(a) }]),
  ),
};
mkdirSync("docs/experiments/regions", { recursive: true });
writeFileSync(
  join("docs/experiments/regions", `${values.name}.json`),
  `${JSON.stringify(record, null, 2)}\n`,
);
process.stdout.write(`${JSON.stringify(record.images)}\n${JSON.stringify(record.anomalousImageRegions)}\n`);
