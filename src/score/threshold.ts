/**
 * Choosing thresholds without test labels (methods.md §8.4): F1-max on validation when validation has
 * anomalies — real ones, or synthetic defects pasted onto the normal validation images (`--threshold-rule
 * synthetic-f1`, src/train/selection.ts) — otherwise a high percentile (default the 99th) of the scores
 * of normal validation images. A threshold that would flag every validation image is never returned: such an F1-max
 * choice falls back to the percentile rule, and the provenance says so.
 */
import { f1Max } from "../metrics/index.js";

export interface ThresholdChoice {
  threshold: number;
  /** Human-readable origin, shown in reports and stored in the model. */
  provenance: string;
  rule: ThresholdRuleName;
}

export const thresholdRuleNames = [
  "f1-max-validation",
  "f1-max-synthetic-validation",
  "percentile-normal-validation",
] as const;
export type ThresholdRuleName = (typeof thresholdRuleNames)[number];

/** Percentile with linear interpolation between order statistics (numpy's default). */
export function percentile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) throw new Error("percentile of an empty set");
  const sorted = Float64Array.from(values).sort();
  const position = (q / 100) * (sorted.length - 1);
  const low = Math.floor(position);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

export function chooseThreshold(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  what: "image" | "pixel",
  normalPercentile = 99,
  anomalies: "real" | "synthetic" = "real",
): ThresholdChoice {
  const normals: number[] = [];
  let anomalousCount = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] === 1) anomalousCount++;
    else normals.push(scores[i]);
  }
  if (normals.length === 0) throw new Error(`no normal validation ${what} scores to choose a threshold from`);
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < scores.length; i++) min = Math.min(min, scores[i]);
  const unit = what === "image" ? "images" : "pixels";
  let note = "";
  if (anomalousCount > 0) {
    const best = f1Max(scores, labels);
    if (best.threshold > min) {
      return anomalies === "synthetic"
        ? {
            threshold: best.threshold,
            provenance: `F1-max on validation with synthetic anomalies (${normals.length} normal, ${anomalousCount} synthetic anomalous ${unit}; F1 ${best.f1.toFixed(3)})`,
            rule: "f1-max-synthetic-validation",
          }
        : {
            threshold: best.threshold,
            provenance: `F1-max on validation (${normals.length} normal, ${anomalousCount} anomalous ${unit}; F1 ${best.f1.toFixed(3)})`,
            rule: "f1-max-validation",
          };
    }
    note = "; F1-max on validation would flag every image";
  }
  const threshold = percentile(normals, normalPercentile);
  const nudged = threshold > min ? threshold : nextAbove(threshold);
  return {
    threshold: nudged,
    provenance: `${normalPercentile}th percentile of ${normals.length} normal validation ${unit}${note}`,
    rule: "percentile-normal-validation",
  };
}

function nextAbove(x: number): number {
  return x + Math.max(Math.abs(x) * 1e-6, 1e-12);
}
