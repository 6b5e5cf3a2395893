/**
 * Evaluation metrics for anomaly detection (methods.md §8.1, §8.4). Scores are "higher = more
 * anomalous", labels 1 = anomalous, masks > 0.5 = anomalous; all arithmetic is float64.
 *
 * Conventions:
 * - Ties: AUROC values count a tied positive–negative pair as ½ (Mann–Whitney U with average ranks);
 *   curves and sweeps have one operating point per distinct score, so tied samples switch together.
 * - Thresholds: a sample or pixel is predicted anomalous when score ≥ threshold (`rocCurve`, `proCurve`,
 *   `aupro`, `averagePrecision`, `f1Max`, `accuracyF1AtThreshold`, `diceAtThreshold`). For AUPRO this
 *   traces the same curve as §8.1's "score > t" with t over the distinct scores and −∞.
 * - Invalid input (length or size mismatch, NaN score, label other than 0/1, a metric undefined for
 *   one class) throws `OptionError`; `aupro` and `proCurve` return `null` when there is no anomalous
 *   region.
 */
export { type AuproOptions, aupro, type ProPoint, proCurve } from "./aupro.js";
export { type ComponentLabels, labelComponents8 } from "./components.js";
export { type DiceAtThresholdResult, dice, diceAtThreshold } from "./dice.js";
export type { NumericArray, PixelGrid } from "./inputs.js";
export { type PixelAurocOptions, type PixelAurocResult, pixelAuroc } from "./pixel.js";
export { imageAuroc, type RocPoint, rocCurve } from "./roc.js";
export {
  accuracyF1AtThreshold,
  averagePrecision,
  type F1MaxResult,
  f1Max,
  type ThresholdMetrics,
} from "./threshold.js";
