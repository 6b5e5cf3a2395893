/**
 * Pixel-level AUROC over every pixel of every test image (§8.1): good images contribute only negatives.
 *
 * Up to `exactLimit` pixels (default 20 million) the value is exact: the Mann–Whitney statistic with ties
 * counted ½, exactly `imageAuroc` of the flattened pixels. Above the limit a binned approximation keeps
 * memory at two histograms instead of 8 bytes per pixel:
 * - `bins` (default 2^16) equal-width bins span [global min, global max] of all scores; bin
 *   b = min(bins − 1, ⌊(s − min) / (max − min) · bins⌋); one histogram for positives, one for negatives.
 * - AUC ≈ Σ_b pos_b · (neg_<b + ½ · neg_b) / (P · N): pairs in different bins are ordered correctly,
 *   pairs in the same bin count ½.
 * - Error bound: a same-bin pair truly contributes 0, ½ or 1, so |approx − exact| ≤ ½ · Σ_b pos_b · neg_b
 *   / (P · N), half the probability mass of positive–negative pairs sharing a bin. It is returned as
 *   `errorBound` (0 for the exact path) and is small whenever scores are spread over many bins.
 */
import { OptionError } from "../errors.js";
import { checkMapsAndMasks, isAnomalousMaskValue, type PixelGrid, requireBothClasses } from "./inputs.js";
import { mannWhitneyAuc } from "./roc.js";

/** Result of `pixelAuroc`: the value, a bound on |value − exact AUROC|, and whether it is exact. */
export interface PixelAurocResult {
  value: number;
  errorBound: number;
  exact: boolean;
}

export interface PixelAurocOptions {
  /** Largest total pixel count evaluated exactly (sort-based); default 20 000 000. */
  exactLimit?: number;
  /** Histogram bins of the approximation above the limit; default 65 536. */
  bins?: number;
}

/**
 * ROC AUC over all pixels. `maps[i]` is the anomaly map of image i (higher = more anomalous); `masks[i]`
 * its ground truth (value > 0.5 = anomalous) of the same size, or `null` for a good image (all pixels
 * negative). Throws `OptionError` on size mismatches, NaN scores, or when no anomalous or no normal
 * pixel exists.
 */
export function pixelAuroc(
  maps: readonly PixelGrid[],
  masks: readonly (PixelGrid | null)[],
  options: PixelAurocOptions = {},
): PixelAurocResult {
  const exactLimit = options.exactLimit ?? 20_000_000;
  const bins = options.bins ?? 65_536;
  if (!(exactLimit >= 0)) throw new OptionError(`exactLimit must be ≥ 0, got ${exactLimit}`);
  if (!Number.isInteger(bins) || bins < 1)
    throw new OptionError(`bins must be a positive integer, got ${bins}`);
  checkMapsAndMasks(maps, masks);
  const stats = scanPixels(maps, masks);
  requireBothClasses(stats.positives, stats.negatives, "Pixel AUROC");
  if (stats.positives + stats.negatives <= exactLimit) {
    return { value: exactPixelAuroc(maps, masks, stats), errorBound: 0, exact: true };
  }
  return binnedPixelAuroc(maps, masks, stats, bins);
}

interface PixelStats {
  positives: number;
  negatives: number;
  min: number;
  max: number;
}

function scanPixels(maps: readonly PixelGrid[], masks: readonly (PixelGrid | null)[]): PixelStats {
  let positives = 0;
  let total = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < maps.length; i++) {
    const scores = maps[i].data;
    const mask = masks[i]?.data;
    for (let j = 0; j < scores.length; j++) {
      const score = scores[j];
      if (Number.isNaN(score)) throw new OptionError(`maps[${i}]: pixel ${j} is NaN`);
      if (score < min) min = score;
      if (score > max) max = score;
      if (mask !== undefined && isAnomalousMaskValue(mask[j])) positives++;
    }
    total += scores.length;
  }
  return { positives, negatives: total - positives, min, max };
}

function exactPixelAuroc(
  maps: readonly PixelGrid[],
  masks: readonly (PixelGrid | null)[],
  stats: PixelStats,
): number {
  const positiveScores = new Float64Array(stats.positives);
  const negativeScores = new Float64Array(stats.negatives);
  let p = 0;
  let n = 0;
  for (let i = 0; i < maps.length; i++) {
    const scores = maps[i].data;
    const mask = masks[i]?.data;
    for (let j = 0; j < scores.length; j++) {
      if (mask !== undefined && isAnomalousMaskValue(mask[j])) positiveScores[p++] = scores[j];
      else negativeScores[n++] = scores[j];
    }
  }
  return mannWhitneyAuc(positiveScores.sort(), negativeScores.sort());
}

function binnedPixelAuroc(
  maps: readonly PixelGrid[],
  masks: readonly (PixelGrid | null)[],
  stats: PixelStats,
  bins: number,
): PixelAurocResult {
  if (!Number.isFinite(stats.min) || !Number.isFinite(stats.max)) {
    throw new OptionError("Pixel AUROC: the binned approximation needs finite scores (found ±Infinity)");
  }
  const positiveCounts = new Float64Array(bins);
  const negativeCounts = new Float64Array(bins);
  const range = stats.max - stats.min;
  const scale = range > 0 ? bins / range : 0;
  for (let i = 0; i < maps.length; i++) {
    const scores = maps[i].data;
    const mask = masks[i]?.data;
    for (let j = 0; j < scores.length; j++) {
      const bin = Math.min(bins - 1, Math.floor((scores[j] - stats.min) * scale));
      if (mask !== undefined && isAnomalousMaskValue(mask[j])) positiveCounts[bin]++;
      else negativeCounts[bin]++;
    }
  }
  let pairsWon = 0;
  let sameBinPairs = 0;
  let negativesBelow = 0;
  for (let b = 0; b < bins; b++) {
    pairsWon += positiveCounts[b] * (negativesBelow + 0.5 * negativeCounts[b]);
    sameBinPairs += positiveCounts[b] * negativeCounts[b];
    negativesBelow += negativeCounts[b];
  }
  const pairs = stats.positives * stats.negatives;
  return { value: pairsWon / pairs, errorBound: (0.5 * sameBinPairs) / pairs, exact: false };
}
