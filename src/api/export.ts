/**
 * `export`: one self-contained ONNX inference graph of a model directory — the method's network, map
 * smoothing, the image-score rule, normalisation and thresholds — with input `input` (N×C×H×W float32
 * in [0,1], dynamic N) and anomalib's output names: `pred_score` (normalised score, threshold at 0.5),
 * `pred_label` (bool), `anomaly_map` (normalised map N×1×H×W), `pred_mask` (bool), plus `raw_score`.
 * It is the graph `predict` runs (weights frozen, batch norms folded) with a symbolic batch axis, so
 * the whole batch runs at once. Images must be resized to the model's input size beforehand (its size
 * is in the model's metadata).
 */

import "../methods/index.js";
import { loadModel } from "../model/directory.js";
import { Scorer } from "../score/scorer.js";
import { writeFileAtomic } from "../util/atomic.js";

export interface ExportResult {
  path: string;
  bytes: number;
  inputShape: string;
}

export async function exportModel(modelDir: string, outPath: string): Promise<ExportResult> {
  const { manifest, instance, calibration } = await loadModel(modelDir);
  try {
    const scorer = new Scorer(instance, manifest.scoring, manifest.imageSize, manifest.channels, calibration);
    const bytes = scorer.exportOnnx("input", {
      normalizedScore: "pred_score",
      label: "pred_label",
      normalizedMap: "anomaly_map",
      mask: "pred_mask",
      score: "raw_score",
    });
    await writeFileAtomic(outPath, bytes);
    return {
      path: outPath,
      bytes: bytes.length,
      inputShape: `N x ${manifest.channels} x ${manifest.imageSize} x ${manifest.imageSize}`,
    };
  } finally {
    await instance.dispose();
  }
}
