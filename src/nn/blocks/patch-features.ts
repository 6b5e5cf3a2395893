/**
 * Locally aware patch features (PatchCore, Roth et al. CVPR 2022, §3.1, eq. 1–2): every feature map
 * is averaged over the 3×3 neighbourhood of each position (stride 1, zero padding counted in the
 * divisor, as the official code's `Unfold` + average and anomalib's `AvgPool2d(3, 1, 1)` do), the
 * coarser maps are upsampled bilinearly (align_corners false, anomalib's `F.interpolate`) to the grid
 * of the first map and all are concatenated along the channels. Optionally the result is reduced to
 * a fixed width by adaptive average pooling over the channels (the official code's
 * `adaptive_avg_pool1d` to `target_embed_dimension`): a fixed, parameter-free projection.
 */
import type { Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";

export interface PatchFeatureOptions {
  /** Side of the neighbourhood averaged around each position (odd; 1 = none). */
  neighbourhood: number;
  /** Channel width after adaptive average pooling; null keeps the concatenation. */
  width: number | null;
}

/** The neighbourhood average of a feature map N×C×h×w (zero padding counted, shape kept). */
export function locallyAware(x: Tensor, neighbourhood: number): Tensor {
  if (neighbourhood % 2 !== 1)
    throw new Error(`locallyAware: the neighbourhood must be odd, got ${neighbourhood}`);
  if (neighbourhood === 1) return x;
  const r = (neighbourhood - 1) / 2;
  return T.avgPool2d(x, { kernel: neighbourhood, stride: 1, padding: r, countIncludePad: true });
}

/**
 * Adaptive average pooling over the channels of N×C×h×w to `width` channels: output channel j
 * averages input channels ⌊jC/width⌋ … ⌈(j+1)C/width⌉ − 1 (PyTorch's adaptive pooling bins).
 */
export function poolChannels(x: Tensor, width: number): Tensor {
  const channels = x.shape[1];
  if (width === channels) return x;
  const weights = new Array<number>(width * channels).fill(0);
  for (let j = 0; j < width; j++) {
    const start = Math.floor((j * channels) / width);
    const end = Math.ceil(((j + 1) * channels) / width);
    for (let c = start; c < end; c++) weights[j * channels + c] = 1 / (end - start);
  }
  return T.conv2d(x, T.constant(weights, [width, channels, 1, 1]));
}

/** Patch features N×D×h×w on the grid of `maps[0]` (the finest map comes first). */
export function patchFeatures(maps: readonly Tensor[], options: PatchFeatureOptions): Tensor {
  const grid: [number, number] = [maps[0].shape[2], maps[0].shape[3]];
  const aligned = maps.map((m, i) => {
    const local = locallyAware(m, options.neighbourhood);
    return i === 0 ? local : T.resize(local, grid, "bilinear");
  });
  const joined = T.concat(aligned, 1);
  return options.width === null ? joined : poolChannels(joined, options.width);
}
