/**
 * Dice coefficient (F1 of pixels) between predicted and ground-truth masks, for one mask pair or for
 * anomaly maps binarised at a threshold (`score >= threshold` is anomalous; ground truth value > 0.5).
 * Two empty masks agree perfectly: their Dice is 1.
 */
import { OptionError } from "../errors.js";
import { checkMapsAndMasks, isAnomalousMaskValue, type NumericArray, type PixelGrid } from "./inputs.js";

/**
 * Dice = 2 |A ∩ B| / (|A| + |B|) of two equally long masks, a pixel being in the mask when its value is
 * > 0.5 (accepts 0/1, 0/255, booleans as numbers). 1 when both masks are empty.
 */
export function dice(predMask: NumericArray, gtMask: NumericArray): number {
  if (predMask.length !== gtMask.length) {
    throw new OptionError(
      `dice: predicted mask has ${predMask.length} pixels, ground truth ${gtMask.length}`,
    );
  }
  const counts = { intersection: 0, predicted: 0, actual: 0 };
  for (let i = 0; i < predMask.length; i++) {
    const predicted = isAnomalousMaskValue(predMask[i]);
    const actual = isAnomalousMaskValue(gtMask[i]);
    if (predicted) counts.predicted++;
    if (actual) counts.actual++;
    if (predicted && actual) counts.intersection++;
  }
  return diceOf(counts.intersection, counts.predicted, counts.actual);
}

/** Dice of anomaly maps at one threshold. */
export interface DiceAtThresholdResult {
  /** Dice of all pixels of all images pooled (one global intersection and union). */
  pooled: number;
  /** Mean of `perImage`. */
  perImageMean: number;
  /** Dice of each image; a good image (`null` mask) scores 1 when nothing is predicted, else 0. */
  perImage: Float64Array;
}

/**
 * Binarises every map with `score >= threshold` and compares it with its mask (value > 0.5; `null` = all
 * normal). Returns the pooled Dice and the per-image Dice values and their mean. Throws `OptionError` on
 * size mismatches, an empty image list or a NaN threshold.
 */
export function diceAtThreshold(
  maps: readonly PixelGrid[],
  masks: readonly (PixelGrid | null)[],
  threshold: number,
): DiceAtThresholdResult {
  if (Number.isNaN(threshold)) throw new OptionError("threshold is NaN");
  checkMapsAndMasks(maps, masks);
  if (maps.length === 0) throw new OptionError("diceAtThreshold needs at least one image");
  const perImage = new Float64Array(maps.length);
  let intersection = 0;
  let predicted = 0;
  let actual = 0;
  for (let i = 0; i < maps.length; i++) {
    const scores = maps[i].data;
    const mask = masks[i]?.data;
    let imageIntersection = 0;
    let imagePredicted = 0;
    let imageActual = 0;
    for (let j = 0; j < scores.length; j++) {
      const isPredicted = scores[j] >= threshold;
      const isActual = mask !== undefined && isAnomalousMaskValue(mask[j]);
      if (isPredicted) imagePredicted++;
      if (isActual) imageActual++;
      if (isPredicted && isActual) imageIntersection++;
    }
    perImage[i] = diceOf(imageIntersection, imagePredicted, imageActual);
    intersection += imageIntersection;
    predicted += imagePredicted;
    actual += imageActual;
  }
  const perImageMean = perImage.reduce((sum, value) => sum + value, 0) / perImage.length;
  return { pooled: diceOf(intersection, predicted, actual), perImageMean, perImage };
}

function diceOf(intersection: number, predicted: number, actual: number): number {
  return predicted + actual === 0 ? 1 : (2 * intersection) / (predicted + actual);
}
