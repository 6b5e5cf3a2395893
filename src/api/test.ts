/**
 * `test`: evaluate a model on a data set's test split and write `metrics.json`, `scores.csv` (one row
 * per image) and a self-contained `report.html` with overlays (also written as PNGs). `out` is an
 * output folder (util/output.ts): a non-empty one is replaced only with `overwrite`.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import {
  type TestReportImage,
  type TestReportInput,
  writeOverlayPngs,
  writeReport,
} from "../report/index.js";
import { type EvaluateOptions, type Evaluation, evaluate, type TestMetrics } from "../score/evaluate.js";
import { writeFileAtomic } from "../util/atomic.js";
import { openOutputFolder } from "../util/output.js";
import { csvField } from "./predict.js";

export interface TestOptions extends EvaluateOptions {
  out: string;
  /** Replace the content of a non-empty `out`. */
  overwrite?: boolean;
}

export interface TestResult {
  metrics: TestMetrics;
  metricsFile: string;
  scoresFile: string;
  reportFile: string;
  /** Problems that did not stop the evaluation, one line each. */
  warnings: string[];
}

export async function testModel(options: TestOptions): Promise<TestResult> {
  const out = await openOutputFolder(options.out, { overwrite: options.overwrite });
  let failed = true;
  try {
    const result = await evaluateInto(options);
    failed = false;
    return result;
  } finally {
    await out.release(failed);
  }
}

async function evaluateInto(options: TestOptions): Promise<TestResult> {
  const evaluation = await evaluate(options);
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
        threshold_rule: manifest.thresholds.image.rule,
        selection: manifest.selection
          ? { criterion: manifest.selection.criterion, selected_epoch: manifest.selection.selectedEpoch }
          : null,
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
  return { metrics: evaluation.metrics, metricsFile, scoresFile, reportFile, warnings: evaluation.warnings };
}

async function writeTestReport(evaluation: Evaluation, options: TestOptions): Promise<string> {
  const { manifest } = evaluation.model;
  const images: TestReportImage[] = [];
  for (const r of evaluation.results) {
    const image = {
      data: r.image,
      width: manifest.imageSize,
      height: manifest.imageSize,
      channels: manifest.channels,
    };
    images.push({
      path: r.sample.path,
      label: r.sample.label,
      score: r.score,
      normalizedScore: r.normalizedScore ?? 0,
      predictedLabel: r.label === 1 ? 1 : 0,
      defectType: r.sample.defectType,
      image,
      anomalyMap: r.map,
      mask: r.mask,
      predictedMask: r.predictedMask ?? null,
    });
  }
  const input: TestReportInput = {
    title: `anomalyscope report — ${manifest.method}`,
    createdAt: new Date().toISOString(),
    method: manifest.method,
    modelDir: options.model,
    dataset: { path: options.data, layout: evaluation.layout, category: options.category },
    metrics: evaluation.metrics,
    threshold: {
      image: manifest.calibration.imageThreshold,
      pixel: manifest.calibration.pixelThreshold,
      provenance: manifest.thresholds.image.provenance,
      pixelProvenance: manifest.thresholds.pixel.provenance,
      rule: manifest.thresholds.image.rule,
      pixelRule: manifest.thresholds.pixel.rule,
    },
    selection: manifest.selection,
    roc: evaluation.roc,
    images,
    config: {
      method: manifest.method,
      config: manifest.config,
      imageSize: manifest.imageSize,
      channels: manifest.channels,
      scoring: manifest.scoring,
    },
    notes: [...manifest.scoring.notes, ...excludedNote(evaluation.withoutMask.length)],
  };
  const overlayFolder = join(options.out, "overlays");
  await mkdir(overlayFolder, { recursive: true });
  await writeOverlayPngs(input, overlayFolder);
  return writeReport(input, options.out, "overlays");
}

function excludedNote(count: number): string[] {
  if (count === 0) return [];
  const images = count === 1 ? "1 anomalous test image has" : `${count} anomalous test images have`;
  return [`${images} no mask and ${count === 1 ? "is" : "are"} left out of pixel AUROC and AUPRO`];
}
