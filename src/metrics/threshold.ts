/**
 * Threshold-based image metrics: average precision, F1-max (an oracle, §8.4 rule 4) and the confusion
 * counts, accuracy and F1 at a given threshold.
 *
 * Convention everywhere: a sample is predicted anomalous when score ≥ threshold. Sweeps visit one
 * operating point per distinct score, so tied samples always switch together.
 */
import { OptionError } from "../errors.js";
import { labelledScores, type NumericArray } from "./inputs.js";
import { indicesByDescendingScore } from "./roc.js";

/** Visits (truePositives, falsePositives, threshold) for every distinct score in decreasing order. */
function sweepDistinctThresholds(
  scores: Float64Array,
  labels: Uint8Array,
  visit: (truePositives: number, falsePositives: number, threshold: number) => void,
): void {
  const order = indicesByDescendingScore(scores);
  let truePositives = 0;
  let falsePositives = 0;
  for (let i = 0; i < order.length; i++) {
    const index = order[i];
    if (labels[index] === 1) truePositives++;
    else falsePositives++;
    if (i === order.length - 1 || scores[order[i + 1]] !== scores[index]) {
      visit(truePositives, falsePositives, scores[index]);
    }
  }
}

function requirePositives(positives: number, what: string): void {
  if (positives === 0) throw new OptionError(`${what} is undefined without anomalous samples (label 1)`);
}

/**
 * Average precision as scikit-learn's `average_precision_score`: AP = Σ_k (R_k − R_{k−1}) · P_k over the
 * distinct scores t_k in decreasing order, with P_k, R_k the precision and recall of `score >= t_k` and
 * R_0 = 0 (step-wise, no interpolation). Throws `OptionError` when no sample is anomalous.
 */
export function averagePrecision(scores: NumericArray, labels: NumericArray): number {
  const data = labelledScores(scores, labels);
  requirePositives(data.positives, "Average precision");
  let ap = 0;
  let previousRecall = 0;
  sweepDistinctThresholds(data.scores, data.labels, (truePositives, falsePositives) => {
    const recall = truePositives / data.positives;
    ap += (recall - previousRecall) * (truePositives / (truePositives + falsePositives));
    previousRecall = recall;
  });
  return ap;
}

/** Best F1 over thresholds; predictions are `score >= threshold`. */
export interface F1MaxResult {
  f1: number;
  threshold: number;
  precision: number;
  recall: number;
}

/**
 * Maximum F1 over the thresholds t ∈ {distinct scores}, predicting anomalous when score ≥ t. On ties of
 * F1 the highest threshold wins. This picks the threshold on the evaluated data: an oracle, to be
 * labelled as such. Throws `OptionError` when no sample is anomalous.
 */
export function f1Max(scores: NumericArray, labels: NumericArray): F1MaxResult {
  const data = labelledScores(scores, labels);
  requirePositives(data.positives, "F1-max");
  let best: F1MaxResult = { f1: -1, threshold: Number.NaN, precision: 0, recall: 0 };
  sweepDistinctThresholds(data.scores, data.labels, (truePositives, falsePositives, threshold) => {
    const f1 = (2 * truePositives) / (truePositives + falsePositives + data.positives);
    if (f1 > best.f1) {
      best = {
        f1,
        threshold,
        precision: truePositives / (truePositives + falsePositives),
        recall: truePositives / data.positives,
      };
    }
  });
  return best;
}

/** Confusion counts and derived rates of `score >= threshold`. */
export interface ThresholdMetrics {
  accuracy: number;
  f1: number;
  precision: number;
  recall: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/**
 * Accuracy, F1, precision and recall of the prediction `score >= threshold` (anomalous). A ratio whose
 * denominator is zero is 0 (scikit-learn's `zero_division=0`): precision with no predicted anomaly,
 * recall and F1 with no anomalous sample and no predicted anomaly. Throws `OptionError` on an empty
 * input or a NaN threshold.
 */
export function accuracyF1AtThreshold(
  scores: NumericArray,
  labels: NumericArray,
  threshold: number,
): ThresholdMetrics {
  if (Number.isNaN(threshold)) throw new OptionError("threshold is NaN");
  const data = labelledScores(scores, labels);
  if (data.scores.length === 0) throw new OptionError("accuracy/F1 need at least one sample");
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < data.scores.length; i++) {
    if (data.scores[i] >= threshold) {
      if (data.labels[i] === 1) tp++;
      else fp++;
    }
  }
  const fn = data.positives - tp;
  const tn = data.negatives - fp;
  return {
    accuracy: (tp + tn) / data.scores.length,
    f1: ratioOrZero(2 * tp, 2 * tp + fp + fn),
    precision: ratioOrZero(tp, tp + fp),
    recall: ratioOrZero(tp, tp + fn),
    tp,
    fp,
    tn,
    fn,
  };
}

function ratioOrZero(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}
