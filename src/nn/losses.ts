/**
 * Losses: mean squared and absolute error, binary cross-entropy with logits (methods.md §1.1:
 * max(x, 0) − x·y + log(1 + exp(−|x|)), mean over elements, stable for large |x|), SSIM (§2.2: 11×11
 * Gaussian window σ = 1.5, C₁ = (0.01·L)², C₂ = (0.03·L)², reflect padding so the map has the input
 * size, each channel filtered on its own), the entropy of memory attention weights (§1.2), and the
 * feature-distillation pieces of Multi-AD (§7.3, §7.5): channel normalisation, the STFPM loss and the
 * 1 − cosine map.
 */

import type { Tensor } from "../engine/index.js";
import * as T from "../engine/index.js";

/** mean((a − b)²). */
export function mse(a: Tensor, b: Tensor): Tensor {
  return T.mean(T.square(T.sub(a, b)));
}

/** mean(|a − b|). */
export function l1(a: Tensor, b: Tensor): Tensor {
  return T.mean(T.abs(T.sub(a, b)));
}

/** Binary cross-entropy of logits x against targets y in [0, 1], averaged over all elements. */
export function bceWithLogits(logits: Tensor, targets: T.Operand): Tensor {
  const softplusOfNegAbs = T.log(T.add(T.exp(T.neg(T.abs(logits))), 1));
  return T.mean(T.add(T.sub(T.relu(logits), T.mul(logits, targets)), softplusOfNegAbs));
}

export interface SsimOptions {
  /** Side of the square Gaussian window (odd); default 11. */
  windowSize?: number;
  /** Standard deviation of the window; default 1.5. */
  sigma?: number;
  /** Data range L of the images; default 1. */
  dataRange?: number;
}

/** Normalised 1-D Gaussian weights of odd length `size`. */
export function gaussianWindow(size: number, sigma: number): number[] {
  const centre = (size - 1) / 2;
  const weights = Array.from({ length: size }, (_, i) =>
    Math.exp(-((i - centre) ** 2) / (2 * sigma * sigma)),
  );
  const total = weights.reduce((a, w) => a + w, 0);
  return weights.map((w) => w / total);
}

/**
 * The SSIM map of two NCHW images of the same shape, with the input's size: local means, variances
 * and covariance come from one separable depthwise Gaussian filter over [x, y, x², y², x·y] after
 * reflect padding (H and W must exceed half the window).
 */
export function ssimMap(x: Tensor, y: Tensor, options: SsimOptions = {}): Tensor {
  const size = options.windowSize ?? 11;
  const sigma = options.sigma ?? 1.5;
  const range = options.dataRange ?? 1;
  if (size % 2 !== 1) throw new Error(`ssim: the window size must be odd, got ${size}`);
  if (x.rank !== 4 || x.shape.join() !== y.shape.join()) {
    throw new Error(
      `ssim: expects two NCHW images of the same shape, got [${x.shape.join(", ")}] and [${y.shape.join(", ")}]`,
    );
  }
  const c = x.shape[1];
  const half = (size - 1) / 2;
  const stacked = T.concat([x, y, T.square(x), T.square(y), T.mul(x, y)], 1);
  const padded = T.pad(stacked, [0, 0, half, half, 0, 0, half, half], "reflect");
  const window = gaussianWindow(size, sigma);
  const channels = 5 * c;
  const vertical = T.constant(Array.from({ length: channels }, () => window).flat(), [channels, 1, size, 1]);
  const horizontal = T.constant(Array.from({ length: channels }, () => window).flat(), [
    channels,
    1,
    1,
    size,
  ]);
  const filtered = T.conv2d(
    T.conv2d(padded, vertical, undefined, { groups: channels }),
    horizontal,
    undefined,
    {
      groups: channels,
    },
  );
  const [muX, muY, xx, yy, xy] = T.split(filtered, [c, c, c, c, c], 1);
  const c1 = (0.01 * range) ** 2;
  const c2 = (0.03 * range) ** 2;
  const muXY = T.mul(muX, muY);
  const muXX = T.square(muX);
  const muYY = T.square(muY);
  const numerator = T.mul(T.add(T.mul(muXY, 2), c1), T.add(T.mul(T.sub(xy, muXY), 2), c2));
  const denominator = T.mul(T.add(T.add(muXX, muYY), c1), T.add(T.add(T.sub(xx, muXX), T.sub(yy, muYY)), c2));
  return T.div(numerator, denominator);
}

/** 1 − mean(SSIM map). */
export function ssimLoss(x: Tensor, y: Tensor, options: SsimOptions = {}): Tensor {
  return T.sub(1, T.mean(ssimMap(x, y, options)));
}

/** Entropy of attention weights w [..., N]: mean over rows of −Σᵢ wᵢ·log(wᵢ + 1e-12). */
export function attentionEntropy(weights: Tensor): Tensor {
  return T.mean(T.neg(T.sum(T.mul(weights, T.log(T.add(weights, 1e-12))), -1)));
}

/** x / max(‖x‖₂, eps) with the norm over the channel axis 1 of an NCHW map (PyTorch `F.normalize`). */
export function normalizeChannels(x: Tensor, eps = 1e-12): Tensor {
  return T.div(x, T.maximum(T.sqrt(T.sum(T.square(x), 1, true)), eps));
}

/**
 * Feature distillation loss of STFPM (methods.md §7.3): Σ_l 1/(2·H_l·W_l) · Σ_{b,y,x} ‖F̂_T − F̂_S‖²
 * with F̂ the channel-normalised maps; summed over the batch, not averaged.
 */
export function featureDistillationLoss(teacher: readonly Tensor[], student: readonly Tensor[]): Tensor {
  const terms = teacher.map((t, l) => {
    const [, , h, w] = t.shape;
    const diff = T.sub(normalizeChannels(t), normalizeChannels(student[l]));
    return T.mul(T.sum(T.square(diff)), 1 / (2 * h * w));
  });
  return terms.reduce((a, b) => T.add(a, b));
}

/** 1 − cos(a, b) over channels at every position: N×1×H×W (cosine with norms floored at 1e-8). */
export function cosineDistanceMap(a: Tensor, b: Tensor): Tensor {
  return T.sub(1, T.sum(T.mul(normalizeChannels(a, 1e-8), normalizeChannels(b, 1e-8)), 1, true));
}
