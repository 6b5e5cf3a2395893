/**
 * The scoring graph shared by `test`, `predict`, the library and the ONNX export (methods.md §1.5):
 * method inference -> raw map at working resolution -> optional Gaussian smoothing (reflect-101
 * borders, radius ceil(4σ)) -> image score (the method's own, or max / mean / top-k mean of the map)
 * -> map resized bilinearly to the input size -> with a calibration: normalised score and map in
 * [0, 1] with the threshold at 0.5, predicted label and predicted mask.
 */

import type { Tensor } from "../engine/index.js";
import * as T from "../engine/index.js";
import type { MethodInstance, ScoringDefaults } from "../methods/contract.js";

/** Thresholds and normalisation ranges learnt from validation data (stored in the model). */
export interface Calibration {
  imageThreshold: number;
  imageMin: number;
  imageMax: number;
  pixelThreshold: number;
  pixelMin: number;
  pixelMax: number;
}

export interface ScoringOutputs {
  /** Raw image scores, N. */
  score: Tensor;
  /** Raw anomaly map at the input size, N×1×H×W. */
  map: Tensor;
  normalizedScore?: Tensor;
  label?: Tensor;
  normalizedMap?: Tensor;
  mask?: Tensor;
}

export function gaussianKernel1d(sigma: number): number[] {
  const radius = Math.ceil(4 * sigma);
  const weights = Array.from({ length: 2 * radius + 1 }, (_, i) =>
    Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)),
  );
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

/** Separable Gaussian blur of an N×1×H×W map with reflect-101 borders. */
export function gaussianSmooth(map: Tensor, sigma: number): Tensor {
  if (sigma <= 0) return map;
  const kernel = gaussianKernel1d(sigma);
  const radius = (kernel.length - 1) / 2;
  const [, , h, w] = map.shape;
  const ry = Math.min(radius, h - 1);
  const rx = Math.min(radius, w - 1);
  const ky = kernel.slice(radius - ry, radius + ry + 1);
  const kx = kernel.slice(radius - rx, radius + rx + 1);
  const padded = T.pad(map, [0, 0, ry, rx, 0, 0, ry, rx], "reflect");
  const vertical = T.conv2d(padded, T.constant(ky, [1, 1, ky.length, 1]));
  return T.conv2d(vertical, T.constant(kx, [1, 1, 1, kx.length]));
}

function imageScoreFromMap(map: Tensor, rule: ScoringDefaults["imageScore"]): Tensor {
  const n = map.shape[0];
  const flat = T.reshape(map, [n, map.size / n]);
  if (rule === "map-max") return T.max(flat, 1);
  if (rule === "map-mean") return T.mean(flat, 1);
  const k = Math.max(1, Math.round(0.01 * flat.shape[1]));
  return T.mean(T.topK(flat, k, 1).values, 1);
}

function normalize(x: Tensor, threshold: number, min: number, max: number): Tensor {
  const range = Math.max(max - min, 1e-12);
  return T.clip(T.add(T.div(T.sub(x, threshold), range), 0.5), 0, 1);
}

/** Trace the scoring of `images` (N×C×H×W in [0,1]) by a method instance in eval mode. */
export function buildScoring(
  instance: MethodInstance,
  scoring: ScoringDefaults,
  images: Tensor,
  calibration?: Calibration,
): ScoringOutputs {
  const { map: raw, imageScore } = instance.buildInference(images);
  const smoothed = gaussianSmooth(raw, scoring.smoothingSigma);
  let score: Tensor;
  if (scoring.imageScore === "method") {
    if (!imageScore) throw new Error("the method has no image score of its own; choose a map-based rule");
    score = imageScore;
  } else {
    score = imageScoreFromMap(scoring.imageScoreFromSmoothed ? smoothed : raw, scoring.imageScore);
  }
  const [h, w] = [images.shape[2], images.shape[3]];
  const map = T.resize(smoothed, [h, w], "bilinear");
  if (!calibration) return { score, map };
  const normalizedScore = normalize(
    score,
    calibration.imageThreshold,
    calibration.imageMin,
    calibration.imageMax,
  );
  const normalizedMap = normalize(
    map,
    calibration.pixelThreshold,
    calibration.pixelMin,
    calibration.pixelMax,
  );
  return {
    score,
    map,
    normalizedScore,
    label: T.greaterEqual(score, calibration.imageThreshold),
    normalizedMap,
    mask: T.greaterEqual(map, calibration.pixelThreshold),
  };
}
