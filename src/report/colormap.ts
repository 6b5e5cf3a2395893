/**
 * Heat-map rendering: the "turbo" colormap (Google's polynomial approximation), a blend of a map over
 * its image, and 1-pixel contours of binary masks. Maps are expected normalised to [0, 1] (the model's
 * normalised map, threshold at 0.5), so colours mean the same in every image.
 */
import { createImage, type Image } from "../io/image.js";

const RED = [0.13572138, 4.6153926, -42.66032258, 132.13108234, -152.94239396, 59.28637943];
const GREEN = [0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604];
const BLUE = [0.1066733, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973];

function polynomial(c: number[], x: number): number {
  return c[0] + x * (c[1] + x * (c[2] + x * (c[3] + x * (c[4] + x * c[5]))));
}

/** Turbo colour of v in [0, 1] (clipped) as [r, g, b] in [0, 1]. */
export function turbo(v: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isNaN(v) ? 0 : v));
  const clamp = (y: number) => Math.min(1, Math.max(0, y));
  return [clamp(polynomial(RED, x)), clamp(polynomial(GREEN, x)), clamp(polynomial(BLUE, x))];
}

/** The image as RGB (grey replicated). */
export function toRgb(image: Image): Image {
  if (image.channels === 3) return image;
  const out = createImage(image.width, image.height, 3);
  const plane = image.width * image.height;
  for (let c = 0; c < 3; c++) out.data.set(image.data.subarray(0, plane), c * plane);
  return out;
}

/**
 * Blend a normalised map over the image: the colour's weight grows with the map value (alpha·v),
 * so normal regions keep the image visible and anomalous ones glow.
 */
export function overlay(image: Image, map: ArrayLike<number>, alpha = 0.65): Image {
  const rgb = toRgb(image);
  const plane = rgb.width * rgb.height;
  if (map.length !== plane)
    throw new Error(`overlay: map has ${map.length} values for a ${rgb.width}×${rgb.height} image`);
  const out = createImage(rgb.width, rgb.height, 3);
  for (let i = 0; i < plane; i++) {
    const v = Math.min(1, Math.max(0, map[i]));
    const colour = turbo(v);
    const w = alpha * Math.min(1, Math.max(0.1, 1.4 * v));
    for (let c = 0; c < 3; c++) out.data[c * plane + i] = (1 - w) * rgb.data[c * plane + i] + w * colour[c];
  }
  return out;
}

/** Boundary of a binary mask (> 0.5): mask pixels with a 4-neighbour outside the mask or the image. */
export function contour(mask: ArrayLike<number>, width: number, height: number): Uint8Array {
  const inside = (x: number, y: number) =>
    x >= 0 && y >= 0 && x < width && y < height && mask[y * width + x] > 0.5;
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!inside(x, y)) continue;
      if (!inside(x - 1, y) || !inside(x + 1, y) || !inside(x, y - 1) || !inside(x, y + 1))
        out[y * width + x] = 1;
    }
  }
  return out;
}

/** Paint the contour of `mask` onto an RGB image in place. */
export function drawContour(
  rgb: Image,
  mask: ArrayLike<number>,
  colour: readonly [number, number, number],
): void {
  const plane = rgb.width * rgb.height;
  const edge = contour(mask, rgb.width, rgb.height);
  for (let i = 0; i < plane; i++) {
    if (!edge[i]) continue;
    for (let c = 0; c < 3; c++) rgb.data[c * plane + i] = colour[c];
  }
}

export const GROUND_TRUTH_COLOUR = [0.2, 1, 0.3] as const;
export const PREDICTED_COLOUR = [1, 1, 1] as const;

/** Original and overlay (with ground-truth and predicted contours) side by side, 4 px apart. */
export function overlayPanel(
  image: Image,
  normalizedMap: ArrayLike<number>,
  predictedMask: ArrayLike<number> | null,
  groundTruth: ArrayLike<number> | null,
): Image {
  const left = toRgb(image);
  const right = overlay(image, normalizedMap);
  if (predictedMask) drawContour(right, predictedMask, PREDICTED_COLOUR);
  if (groundTruth) drawContour(right, groundTruth, GROUND_TRUTH_COLOUR);
  const gap = 4;
  const width = left.width * 2 + gap;
  const out = createImage(width, left.height, 3);
  out.data.fill(1);
  const plane = left.width * left.height;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < left.height; y++) {
      for (let x = 0; x < left.width; x++) {
        out.data[c * width * left.height + y * width + x] = left.data[c * plane + y * left.width + x];
        out.data[c * width * left.height + y * width + left.width + gap + x] =
          right.data[c * plane + y * left.width + x];
      }
    }
  }
  return out;
}
