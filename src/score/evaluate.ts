/**
 * `test`: score the test split of a data set with a trained model and compute the metrics of
 * methods.md §8 — image AUROC, pixel AUROC and AUPRO (when masks exist), F1-max (an oracle, named as
 * such), average precision, and accuracy/F1 at the model's own threshold (chosen on validation during
 * training, never on test). Maps and masks are evaluated at the model's input size.
 *
 * An anomalous test image without a mask (in a data set that has masks) is left out of the pixel
 * metrics and counted (`pixel_metrics_excluded_images`), since counting it as all-normal would lower
 * pixel AUROC and AUPRO; `strict` refuses it instead. A mask whose size differs from its image's is a
 * warning naming the mask (it is resized nearest-neighbour).
 */
import { loadDataset, type Sample } from "../data/index.js";
import { InputFileError, OptionError } from "../errors.js";
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
  /** Memory limit in bytes (default: free memory). */
  maxMemory?: number;
  /** Refuse anomalous test images without a mask instead of leaving them out of pixel metrics. */
  strict?: boolean;
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
  /** Anomalous test images left out of pixel AUROC and AUPRO because they have no mask. */
  pixel_metrics_excluded_images: number;
  evaluation_resolution: string;
}

export interface Evaluation {
  model: LoadedModel;
  metrics: TestMetrics;
  results: ScoredSample[];
  roc: { fpr: number[]; tpr: number[] };
  layout: string;
  /** Anomalous test images without a mask (left out of pixel metrics). */
  withoutMask: string[];
  /** One line per problem that did not stop the evaluation (e.g. a mask of another size). */
  warnings: string[];
}

export async function evaluate(options: EvaluateOptions): Promise<Evaluation> {
  const batchSize = options.batchSize ?? 16;
  const dataset = await loadDataset(options.data, {
    layout: options.layout as never,
    category: options.category,
    seed: 0,
  });
  const samples: Sample[] = dataset.test;
  if (samples.length === 0) throw new OptionError(`${options.data}: the data set has no test images`);
  const hasMasks = samples.some((s) => s.maskPaths.length > 0);
  const withoutMask = hasMasks
    ? samples.filter((s) => s.label === 1 && s.maskPaths.length === 0).map((s) => s.path)
    : [];
  if (options.strict && withoutMask.length > 0)
    throw new InputFileError(
      withoutMask[0],
      "missing",
      `anomalous test image has no mask (${withoutMask.length} such images; without --strict they are left out of pixel metrics)`,
    );
  const model = await loadModel(options.model, { batchSize, maxMemory: options.maxMemory });
  const { manifest, instance, calibration } = model;
  const warnings: string[] = [];
  const scorer = new Scorer(instance, manifest.scoring, manifest.imageSize, manifest.channels, calibration);
  const results: ScoredSample[] = [];
  try {
    const scoring = { batchSize, withMasks: hasMasks, onWarning: (w: string) => warnings.push(w) };
    await scoreSamples(scorer, samples, scoring, (r) => {
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
    const pixelResults = results.filter((r) => r.sample.label === 0 || r.mask);
    const maps = pixelResults.map((r) => ({ data: r.map, width: side, height: side }));
    const masks = pixelResults.map((r) => (r.mask ? { data: r.mask, width: side, height: side } : null));
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
    pixel_metrics_excluded_images: withoutMask.length,
    evaluation_resolution: `${side}x${side} (model input size)`,
  };
  return {
    model,
    metrics,
    results,
    roc: { fpr: curve.map((p) => p.fpr), tpr: curve.map((p) => p.tpr) },
    layout: dataset.layout,
    withoutMask,
    warnings,
  };
}
