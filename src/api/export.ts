/**
 * `export`: one self-contained ONNX inference graph of a model directory — the method's network, map
 * smoothing, the image-score rule, normalisation and thresholds — with input `input` (N×C×H×W float32
 * in [0,1], dynamic N) and anomalib's output names: `pred_score` (normalised score, threshold at 0.5),
 * `pred_label` (bool), `anomaly_map` (normalised map N×1×H×W), `pred_mask` (bool), plus `raw_score`.
 * Images must be resized to the model's input size beforehand (its size is in the model's metadata).
 */

import { exportBatchedOnnx } from "../engine/export.js";
import * as T from "../engine/index.js";
import { bind, ModuleGroup, trace } from "../engine/index.js";
import "../methods/index.js";
import { loadModel } from "../model/directory.js";
import { buildScoring } from "../score/graph.js";
import { writeFileAtomic } from "../util/atomic.js";

export interface ExportResult {
  path: string;
  bytes: number;
  inputShape: string;
}

export async function exportModel(modelDir: string, outPath: string): Promise<ExportResult> {
  const { manifest, instance, calibration } = await loadModel(modelDir);
  try {
    const group = new ModuleGroup(instance.modules);
    group.eval();
    const frozen = new Map<string, Float32Array>();
    const { graph, result } = trace(() => {
      const binding = bind(group);
      for (const [p, name] of binding.names) frozen.set(name, p.value);
      const input = T.input("input", [1, manifest.channels, manifest.imageSize, manifest.imageSize]);
      const out = buildScoring(instance, manifest.scoring, input, calibration);
      return {
        pred_score: out.normalizedScore!,
        pred_label: out.label!,
        anomaly_map: out.normalizedMap!,
        pred_mask: out.mask!,
        raw_score: out.score,
      };
    });
    const bytes = exportBatchedOnnx(graph, result, "input", frozen);
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
