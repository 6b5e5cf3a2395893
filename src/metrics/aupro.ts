/**
 * AUPRO: normalised area under the per-region-overlap curve up to a false-positive-rate limit (§8.1),
 * the MVTec AD / anomalib metric, computed exactly over all distinct scores.
 *
 * Definitions (all test images pooled):
 * - Regions are the 8-connected components of every ground-truth mask (value > 0.5), see
 *   `labelComponents8`. Good images (`null` mask) have none.
 * - Operating points: for every distinct score t, pixels with score ≥ t are predicted anomalous.
 *   FPR(t) = (#ground-truth-negative pixels with score ≥ t) / (#ground-truth-negative pixels);
 *   PRO(t) = mean over all regions of (#region pixels with score ≥ t) / (region size).
 *   The curve starts at (0, 0) (t = +∞) and ends at (1, 1) (t = smallest score). This is the convention
 *   of the MVTec evaluation script (cumulative sums over scores sorted in decreasing order, keeping the
 *   last point of each run of equal scores). It traces the same points as "score > t" over t ∈ {distinct
 *   scores} ∪ {−∞}: "≥ t_k" and "> t_{k+1}" (next lower distinct score) select the same pixels.
 * - AUPRO = (trapezoid area under the curve from FPR 0 to `fprLimit`) / `fprLimit`, where the segment
 *   crossing FPR = `fprLimit` is cut with linear interpolation of PRO.
 *
 * Algorithm, O(P log P) for P pixels: negative scores are sorted natively; region pixels (usually few) are
 * sorted with their region index; both lists are merged in decreasing score order, one step per distinct
 * score, adding 1 / (region size) to the PRO sum of each region pixel passed (per-region coverage grows
 * incrementally) and counting the negatives passed.
 */
import { OptionError } from "../errors.js";
import { labelComponents8 } from "./components.js";
import { checkMapsAndMasks, type PixelGrid } from "./inputs.js";
import { indicesByDescendingScore } from "./roc.js";

export interface AuproOptions {
  /** Upper FPR integration limit in (0, 1]; default 0.3. */
  fprLimit?: number;
}

/** One point of the PRO curve: pixels with score ≥ `threshold` are predicted anomalous. */
export interface ProPoint {
  fpr: number;
  pro: number;
  threshold: number;
}

/**
 * Normalised area under the PRO curve up to `fprLimit` (see the module comment for the exact
 * definition), in [0, 1]. Returns `null` when the masks contain no anomalous region. Throws
 * `OptionError` on size mismatches, NaN scores, an invalid `fprLimit`, or when no ground-truth-negative
 * pixel exists.
 */
export function aupro(
  maps: readonly PixelGrid[],
  masks: readonly (PixelGrid | null)[],
  options: AuproOptions = {},
): number | null {
  const fprLimit = options.fprLimit ?? 0.3;
  if (!(fprLimit > 0 && fprLimit <= 1)) {
    throw new OptionError(`fprLimit must be in (0, 1], got ${fprLimit}`);
  }
  let area = 0;
  let previousFpr = 0;
  let previousPro = 0;
  const hasRegions = sweepProCurve(maps, masks, (fpr, pro) => {
    if (fpr < fprLimit) {
      area += 0.5 * (fpr - previousFpr) * (previousPro + pro);
      previousFpr = fpr;
      previousPro = pro;
      return true;
    }
    const proAtLimit = previousPro + ((pro - previousPro) * (fprLimit - previousFpr)) / (fpr - previousFpr);
    area += 0.5 * (fprLimit - previousFpr) * (previousPro + proAtLimit);
    return false;
  });
  return hasRegions ? area / fprLimit : null;
}

/**
 * The full PRO curve for plotting: (0, 0) at threshold +Infinity, then one point per distinct score in
 * decreasing order, ending at (1, 1). Returns `null` when the masks contain no anomalous region.
 */
export function proCurve(
  maps: readonly PixelGrid[],
  masks: readonly (PixelGrid | null)[],
): ProPoint[] | null {
  const points: ProPoint[] = [{ fpr: 0, pro: 0, threshold: Number.POSITIVE_INFINITY }];
  const hasRegions = sweepProCurve(maps, masks, (fpr, pro, threshold) => {
    points.push({ fpr, pro, threshold });
    return true;
  });
  return hasRegions ? points : null;
}

/**
 * Calls `visit(fpr, pro, threshold)` for each distinct score in decreasing order (not for the (0, 0)
 * start) until it returns false. Returns false, without visiting, when there is no region.
 */
function sweepProCurve(
  maps: readonly PixelGrid[],
  masks: readonly (PixelGrid | null)[],
  visit: (fpr: number, pro: number, threshold: number) => boolean,
): boolean {
  checkMapsAndMasks(maps, masks);
  const pixels = collectPixels(maps, masks);
  if (pixels.regionCount === 0) return false;
  const { negativeScores, regionScores, regionWeights } = pixels;
  if (negativeScores.length === 0) {
    throw new OptionError("AUPRO is undefined without ground-truth-negative pixels");
  }
  negativeScores.sort();
  const regionOrder = indicesByDescendingScore(regionScores);

  let negativeIndex = negativeScores.length - 1;
  let regionIndex = 0;
  let falsePositives = 0;
  let proSum = 0;
  while (negativeIndex >= 0 || regionIndex < regionOrder.length) {
    const nextNegative = negativeIndex >= 0 ? negativeScores[negativeIndex] : Number.NEGATIVE_INFINITY;
    const nextRegion =
      regionIndex < regionOrder.length ? regionScores[regionOrder[regionIndex]] : Number.NEGATIVE_INFINITY;
    const threshold = Math.max(nextNegative, nextRegion);
    while (negativeIndex >= 0 && negativeScores[negativeIndex] === threshold) {
      falsePositives++;
      negativeIndex--;
    }
    while (regionIndex < regionOrder.length && regionScores[regionOrder[regionIndex]] === threshold) {
      proSum += regionWeights[regionOrder[regionIndex]];
      regionIndex++;
    }
    const fpr = falsePositives / negativeScores.length;
    const pro = Math.min(1, proSum / pixels.regionCount);
    if (!visit(fpr, pro, threshold)) break;
  }
  return true;
}

interface CollectedPixels {
  negativeScores: Float64Array;
  /** Score of each region pixel. */
  regionScores: Float64Array;
  /** 1 / (size of the pixel's region), so the sum over a region's passed pixels is its coverage. */
  regionWeights: Float64Array;
  regionCount: number;
}

function collectPixels(maps: readonly PixelGrid[], masks: readonly (PixelGrid | null)[]): CollectedPixels {
  const labelled = masks.map((mask) => (mask === null ? null : labelComponents8(mask)));
  let totalPixels = 0;
  let regionPixels = 0;
  let regionCount = 0;
  for (let i = 0; i < maps.length; i++) {
    totalPixels += maps[i].data.length;
    const components = labelled[i];
    if (components === null) continue;
    regionCount += components.count;
    for (const size of components.sizes) regionPixels += size;
  }
  const negativeScores = new Float64Array(totalPixels - regionPixels);
  const regionScores = new Float64Array(regionPixels);
  const regionWeights = new Float64Array(regionPixels);
  let n = 0;
  let r = 0;
  for (let i = 0; i < maps.length; i++) {
    const scores = maps[i].data;
    const labels = labelled[i]?.labels;
    const sizes = labelled[i]?.sizes ?? [];
    for (let j = 0; j < scores.length; j++) {
      const score = scores[j];
      if (Number.isNaN(score)) throw new OptionError(`maps[${i}]: pixel ${j} is NaN`);
      const component = labels === undefined ? -1 : labels[j];
      if (component === -1) {
        negativeScores[n++] = score;
      } else {
        regionScores[r] = score;
        regionWeights[r++] = 1 / sizes[component];
      }
    }
  }
  return { negativeScores, regionScores, regionWeights, regionCount };
}
