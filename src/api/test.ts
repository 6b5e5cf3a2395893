/**
 * `test`: evaluate a model on a data set's test split and write `metrics.json`, `scores.csv` (one row
 * per image) and a self-contained `report.html` with overlays (also written as PNGs).
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { preprocessImage } from "../data/preprocess.js";
import { readImage } from "../io/index.js";
import {
  orderTiles,
  overlayDataUri,
  type ReportInput,
  type ReportTile,
  renderReport,
  writeOverlay,
} from "../report/index.js";
import { type EvaluateOptions, type Evaluation, evaluate, type TestMetrics } from "../score/evaluate.js";
import type { ScoredSample } from "../score/scorer.js";
import { writeFileAtomic } from "../util/atomic.js";
import { csvField, uniqueOverlayName } from "./predict.js";

export interface TestOptions extends EvaluateOptions {
  out: string;
}

export interface TestResult {
  metrics: TestMetrics;
  metricsFile: string;
  scoresFile: string;
  reportFile: string;
}

export async function testModel(options: TestOptions): Promise<TestResult> {
  const evaluation = await evaluate(options);
  await mkdir(options.out, { recursive: true });
  const metricsFile = join(options.out, "metrics.json");
  const scoresFile = join(options.out, "scores.csv");
  const { manifest } = evaluation.model;
  await writeFileAtomic(
    metricsFile,
    `${JSON.stringify(
      {
        ...evaluation.metrics,
        model: options.model,
        method: manifest.method,
        data: options.data,
        layout: evaluation.layout,
        f1_max_note:
          "F1-max uses the best threshold on the test set itself (an oracle, not a deployable number)",
        pixel_threshold: manifest.calibration.pixelThreshold,
        pixel_threshold_provenance: manifest.thresholds.pixel.provenance,
      },
      null,
      2,
    )}\n`,
  );
  const header = "path,label,defect_type,score,normalized_score,predicted_label";
  const lines = evaluation.results.map((r) =>
    [
      r.sample.path,
      r.sample.label === 1 ? "anomalous" : "normal",
      r.sample.defectType ?? "",
      r.score,
      r.normalizedScore ?? "",
      r.label === 1 ? "anomalous" : "normal",
    ]
      .map(csvField)
      .join(","),
  );
  await writeFileAtomic(scoresFile, `${[header, ...lines].join("\n")}\n`);
  const reportFile = await writeTestReport(evaluation, options);
  return { metrics: evaluation.metrics, metricsFile, scoresFile, reportFile };
}

/** Tiles shown in the HTML grid (every overlay is written as a PNG regardless). */
const GRID_LIMIT = 48;

async function writeTestReport(evaluation: Evaluation, options: TestOptions): Promise<string> {
  const { manifest } = evaluation.model;
  const { metrics } = evaluation;
  const size = manifest.imageSize;
  const overlayFolder = join(options.out, "overlays");
  await mkdir(overlayFolder, { recursive: true });
  const asTile = (r: ScoredSample): ReportTile => ({
    path: r.sample.path,
    label: r.sample.label,
    predictedLabel: r.label === 1 ? 1 : 0,
    defectType: r.sample.defectType,
    score: r.score,
    normalizedScore: r.normalizedScore ?? 0,
    panel: "",
  });
  const shown = new Set(
    orderTiles(evaluation.results.map(asTile))
      .slice(0, GRID_LIMIT)
      .map((t) => t.path),
  );
  const tiles: ReportTile[] = [];
  const used = new Set<string>();
  for (const r of evaluation.results) {
    const image = await preprocessImage(await readImage(r.sample.path, { slice: r.sample.slice }), {
      size,
      channels: manifest.channels,
    });
    const predicted = r.predictedMask ?? null;
    await writeOverlay(
      join(overlayFolder, uniqueOverlayName(r.sample.path, used)),
      image,
      r.normalizedMap!,
      predicted,
      r.mask,
    );
    if (shown.has(r.sample.path)) {
      tiles.push({ ...asTile(r), panel: await overlayDataUri(image, r.normalizedMap!, predicted, r.mask) });
    }
  }
  const oracle = "threshold chosen on the test set itself (oracle)";
  const input: ReportInput = {
    title: `anomalyscope report — ${manifest.method}`,
    createdAt: new Date().toISOString(),
    method: manifest.method,
    modelDir: options.model,
    data: { path: options.data, layout: evaluation.layout },
    metrics: [
      {
        name: "image AUROC",
        value: metrics.image_auroc,
        note: metrics.image_auroc === null ? "needs normal and anomalous test images" : "",
      },
      {
        name: "pixel AUROC",
        value: metrics.pixel_auroc,
        note:
          metrics.pixel_auroc === null
            ? "no pixel masks in this data set"
            : `at ${metrics.evaluation_resolution}`,
      },
      {
        name: "AUPRO (FPR ≤ 0.3)",
        value: metrics.aupro,
        note: metrics.aupro === null ? "no pixel masks in this data set" : "",
      },
      { name: "average precision", value: metrics.average_precision },
      { name: "F1-max", value: metrics.f1_max, note: oracle },
      { name: "accuracy at the model's threshold", value: metrics.accuracy_at_threshold },
      { name: "F1 at the model's threshold", value: metrics.f1_at_threshold },
      { name: "normal test images", value: metrics.n_normal },
      { name: "anomalous test images", value: metrics.n_anomalous },
    ],
    threshold: { value: metrics.threshold, provenance: metrics.threshold_provenance },
    pixelThreshold: {
      value: manifest.calibration.pixelThreshold,
      provenance: manifest.thresholds.pixel.provenance,
    },
    roc: evaluation.roc,
    scores: {
      normal: evaluation.results.filter((r) => r.sample.label === 0).map((r) => r.score),
      anomalous: evaluation.results.filter((r) => r.sample.label === 1).map((r) => r.score),
    },
    tiles,
    hiddenTiles: evaluation.results.length - tiles.length,
    overlayFolder,
    config: {
      method: manifest.method,
      config: manifest.config,
      imageSize: size,
      channels: manifest.channels,
      scoring: manifest.scoring,
    },
    notes: manifest.scoring.notes,
  };
  const reportFile = join(options.out, "report.html");
  await writeFileAtomic(reportFile, renderReport(input));
  return reportFile;
}
