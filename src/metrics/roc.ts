/**
 * Image-level ROC: AUROC as the Mann–Whitney U statistic with average ranks for ties (§8.1), and the ROC
 * curve for plotting.
 *
 * The AUC is computed by sorting the positive and the negative scores separately (native float64 sort)
 * and merging: U = Σ over positives p of (#negatives < p + ½ · #negatives = p); AUC = U / (P · N). This
 * equals the rank-sum formula with average ranks and the trapezoidal area under the ROC curve.
 */
import { labelledScores, type NumericArray, requireBothClasses } from "./inputs.js";

/**
 * Mann–Whitney AUC of two ascending float64 arrays (positives, negatives): the probability that a random
 * positive scores higher than a random negative, ties counting ½. Both arrays must be non-empty.
 */
export function mannWhitneyAuc(sortedPositives: Float64Array, sortedNegatives: Float64Array): number {
  let below = 0;
  let belowOrEqual = 0;
  let pairsWon = 0;
  const negatives = sortedNegatives.length;
  for (let i = 0; i < sortedPositives.length; i++) {
    const score = sortedPositives[i];
    while (below < negatives && sortedNegatives[below] < score) below++;
    if (belowOrEqual < below) belowOrEqual = below;
    while (belowOrEqual < negatives && sortedNegatives[belowOrEqual] <= score) belowOrEqual++;
    pairsWon += below + 0.5 * (belowOrEqual - below);
  }
  return pairsWon / (sortedPositives.length * negatives);
}

/** Splits scores by label into two ascending float64 arrays. */
export function sortedByClass(
  scores: Float64Array,
  labels: Uint8Array,
  positives: number,
): { positives: Float64Array; negatives: Float64Array } {
  const positiveScores = new Float64Array(positives);
  const negativeScores = new Float64Array(scores.length - positives);
  let p = 0;
  let n = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] === 1) positiveScores[p++] = scores[i];
    else negativeScores[n++] = scores[i];
  }
  return { positives: positiveScores.sort(), negatives: negativeScores.sort() };
}

/** Indices 0..n-1 ordered by decreasing score (ties in index order). */
export function indicesByDescendingScore(scores: Float64Array): number[] {
  return Array.from(scores.keys()).sort((a, b) =>
    scores[a] > scores[b] ? -1 : scores[a] < scores[b] ? 1 : a - b,
  );
}

/**
 * ROC AUC of image scores (higher = more anomalous; label 1 = anomalous). Ties between a positive and a
 * negative count ½ (average ranks, Mann–Whitney U), so constant scores give 0.5. Exact, O(n log n),
 * float64. Throws `OptionError` when either class is absent, lengths differ, a label is not 0/1 or a
 * score is NaN.
 */
export function imageAuroc(scores: NumericArray, labels: NumericArray): number {
  const data = labelledScores(scores, labels);
  requireBothClasses(data.positives, data.negatives, "AUROC");
  const split = sortedByClass(data.scores, data.labels, data.positives);
  return mannWhitneyAuc(split.positives, split.negatives);
}

/** One operating point of a ROC curve: samples with score ≥ `threshold` are predicted anomalous. */
export interface RocPoint {
  fpr: number;
  tpr: number;
  threshold: number;
}

/**
 * ROC curve for plotting: one point per distinct score t, in decreasing t, with
 * (fpr, tpr) = rates of `score >= t`; preceded by (0, 0) at threshold +Infinity. The last point
 * (t = smallest score) is (1, 1). Tied scores form one point, so the polyline between points is the
 * trapezoid whose area is `imageAuroc`. Throws `OptionError` when either class is absent.
 */
export function rocCurve(scores: NumericArray, labels: NumericArray): RocPoint[] {
  const data = labelledScores(scores, labels);
  requireBothClasses(data.positives, data.negatives, "ROC curve");
  const order = indicesByDescendingScore(data.scores);
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: Number.POSITIVE_INFINITY }];
  let truePositives = 0;
  let falsePositives = 0;
  for (let i = 0; i < order.length; i++) {
    const index = order[i];
    if (data.labels[index] === 1) truePositives++;
    else falsePositives++;
    const isLastOfTie = i === order.length - 1 || data.scores[order[i + 1]] !== data.scores[index];
    if (isLastOfTie) {
      points.push({
        fpr: falsePositives / data.negatives,
        tpr: truePositives / data.positives,
        threshold: data.scores[index],
      });
    }
  }
  return points;
}
