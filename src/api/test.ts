/**
 * `test`: evaluate a model on a data set's test split and write `metrics.json`, `scores.csv` (one row
 * per image) and a self-contained `report.html` with overlays (also written as PNGs).
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writeReport } from "../report/index.js";
import { type EvaluateOptions, evaluate, type TestMetrics } from "../score/evaluate.js";
import { writeFileAtomic } from "../util/atomic.js";
import { csvField } from "./predict.js";

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
  const reportFile = await writeReport(evaluation, options);
  return { metrics: evaluation.metrics, metricsFile, scoresFile, reportFile };
}
