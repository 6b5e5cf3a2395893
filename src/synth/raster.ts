/**
 * Raster helpers for the generators: per-pixel alpha planes (size × size Float32 in [0, 1]) for
 * anti-aliased curves and irregular blobs, blending of colours and images through such planes,
 * colourising a grey field, sensor noise, and turning an alpha plane into a 0/1 mask.
 */
import { createImage, type Image } from "../io/image.js";
import type { Random } from "../util/random.js";
import type { SynthSample } from "./types.js";

/** A size × size plane of values (alpha, intensity). */
export type Plane = Float32Array;

export type Point = readonly [number, number];

/** Pixel rows and columns [x0, x1) × [y0, y1) around (cx, cy) within `reach`, clipped to the image. */
function box(size: number, cx: number, cy: number, reach: number): [number, number, number, number] {
  return [
    Math.max(0, Math.floor(cx - reach)),
    Math.min(size, Math.ceil(cx + reach) + 1),
    Math.max(0, Math.floor(cy - reach)),
    Math.min(size, Math.ceil(cy + reach) + 1),
  ];
}

/**
 * Alpha of an anti-aliased polyline of the given width (pixels): 1 on the centre line, falling to 0
 * half a pixel beyond `width / 2`.
 */
export function polylineAlpha(size: number, points: readonly Point[], width: number): Plane {
  const alpha = new Float32Array(size * size);
  const half = width / 2 + 0.5;
  for (let s = 0; s + 1 < points.length; s++) {
    const [ax, ay] = points[s];
    const [bx, by] = points[s + 1];
    const dx = bx - ax;
    const dy = by - ay;
    const lengthSquared = dx * dx + dy * dy || 1e-9;
    const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - half));
    const x1 = Math.min(size, Math.ceil(Math.max(ax, bx) + half) + 1);
    const y0 = Math.max(0, Math.floor(Math.min(ay, by) - half));
    const y1 = Math.min(size, Math.ceil(Math.max(ay, by) + half) + 1);
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const t = Math.min(1, Math.max(0, ((x - ax) * dx + (y - ay) * dy) / lengthSquared));
        const distance = Math.hypot(x - ax - t * dx, y - ay - t * dy);
        const a = Math.min(1, Math.max(0, half - distance));
        const i = y * size + x;
        if (a > alpha[i]) alpha[i] = a;
      }
    }
  }
  return alpha;
}

/**
 * A gently bent curve (quadratic Bézier, 48 segments) of the given length in pixels, starting at
 * `start` in a random direction, with its bend up to a quarter of its length.
 */
export function randomCurve(rng: Random, start: Point, length: number): Point[] {
  const angle = rng.range(0, 2 * Math.PI);
  const end: Point = [start[0] + length * Math.cos(angle), start[1] + length * Math.sin(angle)];
  const bend = rng.range(-0.25, 0.25) * length;
  const control: Point = [
    (start[0] + end[0]) / 2 - bend * Math.sin(angle),
    (start[1] + end[1]) / 2 + bend * Math.cos(angle),
  ];
  const points: Point[] = [];
  for (let k = 0; k <= 48; k++) {
    const t = k / 48;
    const a = (1 - t) * (1 - t);
    const b = 2 * (1 - t) * t;
    const c = t * t;
    points.push([a * start[0] + b * control[0] + c * end[0], a * start[1] + b * control[1] + c * end[1]]);
  }
  return points;
}

/**
 * Alpha of an irregular blob around (cx, cy): its radius at angle θ is `radius` times
 * 1 + Σ low harmonics (relative amplitude `irregularity`), and the border fades over `softness` pixels.
 */
export function blobAlpha(
  rng: Random,
  size: number,
  cx: number,
  cy: number,
  radius: number,
  softness: number,
  irregularity: number,
): Plane {
  const harmonics = [2, 3, 5].map((k) => ({
    k,
    amplitude: (rng.range(0.3, 1) * irregularity) / Math.sqrt(k),
    phase: rng.range(0, 2 * Math.PI),
  }));
  const alpha = new Float32Array(size * size);
  const [x0, x1, y0, y1] = box(size, cx, cy, radius * (1 + 2 * irregularity) + softness + 1);
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const theta = Math.atan2(y - cy, x - cx);
      let edge = 1;
      for (const h of harmonics) edge += h.amplitude * Math.cos(h.k * theta + h.phase);
      const distance = Math.hypot(x - cx, y - cy);
      alpha[y * size + x] = Math.min(1, Math.max(0, (radius * edge - distance) / softness + 0.5));
    }
  }
  return alpha;
}

/** `alpha` multiplied pixel by pixel by `limit` (in place); returns `alpha`. */
export function clipAlpha(alpha: Plane, limit: Plane): Plane {
  for (let i = 0; i < alpha.length; i++) alpha[i] *= limit[i];
  return alpha;
}

/** Number of pixels with alpha ≥ 0.5. */
export function maskArea(alpha: Plane): number {
  let count = 0;
  for (let i = 0; i < alpha.length; i++) if (alpha[i] >= 0.5) count++;
  return count;
}

/** Blend `image` towards a constant colour (one value per channel) through `alpha` times `opacity`, in place. */
export function blendColour(image: Image, alpha: Plane, colour: readonly number[], opacity = 1): void {
  const plane = image.width * image.height;
  for (let c = 0; c < image.channels; c++) {
    const target = colour[c];
    for (let i = 0; i < plane; i++) {
      const a = alpha[i] * opacity;
      if (a > 0) image.data[c * plane + i] += a * (target - image.data[c * plane + i]);
    }
  }
}

/** Blend `image` towards `other` (same shape) through `alpha` times `opacity`, in place. */
export function blendImage(image: Image, other: Image, alpha: Plane, opacity = 1): void {
  const plane = image.width * image.height;
  for (let c = 0; c < image.channels; c++) {
    for (let i = 0; i < plane; i++) {
      const a = alpha[i] * opacity;
      const j = c * plane + i;
      if (a > 0) image.data[j] += a * (other.data[j] - image.data[j]);
    }
  }
}

/**
 * An image from a grey field: one channel copies the field; three channels map it linearly from the
 * `dark` colour (field 0) to the `light` colour (field 1).
 */
export function colourise(
  field: Plane,
  size: number,
  channels: 1 | 3,
  dark: readonly number[],
  light: readonly number[],
): Image {
  const image = createImage(size, size, channels);
  if (channels === 1) {
    image.data.set(field);
    return image;
  }
  const plane = size * size;
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) image.data[c * plane + i] = dark[c] + (light[c] - dark[c]) * field[i];
  }
  return image;
}

/** A deep copy of an image. */
export function cloneImage(image: Image): Image {
  return { ...image, data: new Float32Array(image.data) };
}

/**
 * Finish a sample: add the same Gaussian sensor noise (standard deviation `sigma`, one draw per pixel
 * and channel) to the image and its defect-free reference, clip both to [0, 1] and threshold the
 * defect alpha at 0.5 into the mask.
 */
export function finishSample(
  rng: Random,
  image: Image,
  reference: Image,
  defectAlpha: Plane | undefined,
  defect: string,
  sigma: number,
): SynthSample {
  for (let i = 0; i < image.data.length; i++) {
    const n = sigma * rng.normal();
    image.data[i] = Math.min(1, Math.max(0, image.data[i] + n));
    reference.data[i] = Math.min(1, Math.max(0, reference.data[i] + n));
  }
  const mask = createImage(image.width, image.height, 1);
  if (defectAlpha) for (let i = 0; i < defectAlpha.length; i++) mask.data[i] = defectAlpha[i] >= 0.5 ? 1 : 0;
  return { image, reference, mask, defect };
}
