/**
 * `test`: score the test split of a data set with a trained model and compute the metrics of
 * methods.md §8 — image AUROC, pixel AUROC and AUPRO (when masks exist), F1-max (an oracle, named as
 * such), average precision, and accuracy/F1 at the model's own threshold (chosen on validation during
 * training, never on test). Maps and masks are evaluated at the model's input size.
 */
import { loadDataset, type Sample } from "../data/index.js";
import { OptionError } from "../errors.js";
import {
  accuracyF1AtThreshold,
  aupro,
  averagePrecision,
  f1Max,
  imageAuroc,
  pixelAuroc,
  rocCurve,
} from "../metrics/index.js";
import { type LoadedModel, loadModel } from "../model/directory.js";
import { type ScoredSample, Scorer, scoreSamples } from "./scorer.js";

export interface EvaluateOptions {
  model: string;
  data: string;
  layout?: string;
  category?: string;
  batchSize?: number;
}

export interface TestMetrics {
  image_auroc: number | null;
  pixel_auroc: number | null;
  aupro: number | null;
  f1_max: number | null;
  f1_max_threshold: number | null;
  average_precision: number | null;
  threshold: number;
  threshold_provenance: string;
  accuracy_at_threshold: number;
  f1_at_threshold: number;
  precision_at_threshold: number;
  recall_at_threshold: number;
  n_normal: number;
  n_anomalous: number;
  evaluation_resolution: string;
}

export interface Evaluation {
  model: LoadedModel;
  metrics: TestMetrics;
  results: ScoredSample[];
  roc: { fpr: number[]; tpr: number[] };
  layout: string;
}

export async function evaluate(options: EvaluateOptions): Promise<Evaluation> {
  const model = await loadModel(options.model);
  const { manifest, instance, calibration } = model;
  const dataset = await loadDataset(options.data, {
    layout: options.layout as never,
    category: options.category,
    seed: 0,
  });
  const samples: Sample[] = dataset.test;
  if (samples.length === 0) throw new OptionError(`${options.data}: the data set has no test images`);
  const hasMasks = samples.some((s) => s.maskPaths.length > 0);
  const scorer = new Scorer(instance, manifest.scoring, manifest.imageSize, manifest.channels, calibration);
  const results: ScoredSample[] = [];
  try {
    await scoreSamples(scorer, samples, { batchSize: options.batchSize ?? 16, withMasks: hasMasks }, (r) => {
      results.push(r);
    });
  } finally {
    await scorer.dispose();
    await instance.dispose();
  }
  const scores = results.map((r) => r.score);
  const labels = results.map((r) => r.sample.label);
  const both = labels.includes(0) && labels.includes(1);
  const anyAnomalous = labels.includes(1);
  const atThreshold = accuracyF1AtThreshold(scores, labels, calibration.imageThreshold);
  const side = manifest.imageSize;
  let pixel: number | null = null;
  let pro: number | null = null;
  if (hasMasks) {
    const maps = results.map((r) => ({ data: r.map, width: side, height: side }));
    const masks = results.map((r) => (r.mask ? { data: r.mask, width: side, height: side } : null));
    pixel = pixelAuroc(maps, masks).value;
    pro = aupro(maps, masks);
  }
  const best = anyAnomalous ? f1Max(scores, labels) : null;
  const curve = both ? rocCurve(scores, labels) : [];
  const metrics: TestMetrics = {
    image_auroc: both ? imageAuroc(scores, labels) : null,
    pixel_auroc: pixel,
    aupro: pro,
    f1_max: best ? best.f1 : null,
    f1_max_threshold: best ? best.threshold : null,
    average_precision: anyAnomalous ? averagePrecision(scores, labels) : null,
    threshold: calibration.imageThreshold,
    threshold_provenance: manifest.thresholds.image.provenance,
    accuracy_at_threshold: atThreshold.accuracy,
    f1_at_threshold: atThreshold.f1,
    precision_at_threshold: atThreshold.precision,
    recall_at_threshold: atThreshold.recall,
    n_normal: labels.filter((l) => l === 0).length,
    n_anomalous: labels.filter((l) => l === 1).length,
    evaluation_resolution: `${side}x${side} (model input size)`,
  };
  return {
    model,
    metrics,
    results,
    roc: { fpr: curve.map((p) => p.fpr), tpr: curve.map((p) => p.tpr) },
    layout: dataset.layout,
  };
}
