/**
 * Synthetic defects pasted onto existing images — the normal validation images of a real data set —
 * so that the trainer can choose the epoch and the threshold without anomalous labels (issue 22). The
 * shapes are the generators' own (raster.ts, industrial.ts): scratches (thin bright or dark curves),
 * holes (dark blobs), stains (colour or brightness patches), texture blends (a generated texture of
 * another family blended in through a thresholded Perlin mask, as in DRAEM), and lesions (fuzzy blobs of
 * varied size, contrast and inner texture, brighter or darker than the tissue around them).
 *
 * Choices where a real image differs from a generated one:
 * - Intensities are relative to the image, not absolute: a bright or dark defect sits a drawn contrast
 *   above or below the mean grey value of the image's foreground (a lesion: of the tissue it covers).
 * - The foreground is the set of pixels whose grey value lies above 10 % of the image's range over its
 *   minimum (for medical images: not the black background). Defect centres are drawn from it (up to 50
 *   draws, then the last one; texture blends keep the generator's own patch placement), and lesions are
 *   clipped to it.
 * - Images have 1 or 3 channels (what every method takes); colours of a grey image are grey levels.
 * - No sensor noise is added, and changes farther than 2 px from the mask are undone (faint fringes of a
 *   texture blend's Perlin alpha), so the image changes only on and right around the mask.
 * - The mask is alpha ≥ 0.5, the convention of the synthetic data sets; a defect whose mask would have
 *   fewer than max(4, 0.1 % of the image) pixels is drawn again (up to 20 times).
 */
import { OptionError } from "../errors.js";
import { createImage, type Image } from "../io/image.js";
import type { Random } from "../util/random.js";
import { generateIndustrialImage, industrialStyle, perlinPatchAlpha } from "./industrial.js";
import { Perlin } from "./noise.js";
import {
  blendColour,
  blendImage,
  blobAlpha,
  clipAlpha,
  cloneImage,
  colourise,
  maskArea,
  type Plane,
  polylineAlpha,
  randomCurve,
} from "./raster.js";
import { industrialTextures } from "./types.js";

export const pastedDefectKinds = ["scratch", "hole", "stain", "texture_blend", "lesion"] as const;
export type PastedDefectKind = (typeof pastedDefectKinds)[number];

/** An image with a pasted defect, its 0/1 mask (1 × H × W) and the defect kind. */
export interface PastedDefect {
  image: Image;
  mask: Image;
  kind: PastedDefectKind;
}

/** Parse a comma-separated list (or an array) of defect kinds; an unknown or empty list is an `OptionError`. */
export function parseDefectKinds(value: string | readonly string[], option: string): PastedDefectKind[] {
  const names = (typeof value === "string" ? value.split(",") : [...value])
    .map((k) => k.trim())
    .filter(Boolean);
  if (names.length === 0)
    throw new OptionError(`${option}: no defect kinds given (allowed: ${pastedDefectKinds.join(", ")})`);
  for (const name of names) {
    if (!(pastedDefectKinds as readonly string[]).includes(name))
      throw new OptionError(
        `${option}: unknown defect kind "${name}" (allowed: ${pastedDefectKinds.join(", ")})`,
      );
  }
  return names as PastedDefectKind[];
}

/** Grey value per pixel (mean over channels) and the foreground around it. */
interface ImageStatistics {
  grey: Plane;
  low: number;
  high: number;
  /** Soft foreground plane in [0, 1]. */
  foreground: Plane;
  foregroundThreshold: number;
  /** Mean grey value of the foreground pixels. */
  foregroundMean: number;
}

function statistics(image: Image): ImageStatistics {
  const plane = image.width * image.height;
  const grey = new Float32Array(plane);
  for (let c = 0; c < image.channels; c++)
    for (let i = 0; i < plane; i++) grey[i] += image.data[c * plane + i] / image.channels;
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (const v of grey) {
    low = Math.min(low, v);
    high = Math.max(high, v);
  }
  const range = Math.max(high - low, 1e-6);
  const foregroundThreshold = low + 0.1 * range;
  const foreground = new Float32Array(plane);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < plane; i++) {
    foreground[i] = Math.min(1, Math.max(0, (grey[i] - foregroundThreshold) / (0.05 * range) + 0.5));
    if (grey[i] >= foregroundThreshold) {
      sum += grey[i];
      count++;
    }
  }
  return { grey, low, high, foreground, foregroundThreshold, foregroundMean: count ? sum / count : 0.5 };
}

/** A defect centre at least `margin` (fraction of the side) from the border, on the foreground if possible. */
function foregroundCentre(
  rng: Random,
  size: number,
  stats: ImageStatistics,
  margin: number,
): [number, number] {
  let centre: [number, number] = [size / 2, size / 2];
  for (let attempt = 0; attempt < 50; attempt++) {
    centre = [rng.range(margin, 1 - margin) * size, rng.range(margin, 1 - margin) * size];
    const index =
      Math.min(size - 1, Math.floor(centre[1])) * size + Math.min(size - 1, Math.floor(centre[0]));
    if (stats.grey[index] >= stats.foregroundThreshold) break;
  }
  return centre;
}

/** A grey level `contrast` above or below `mean`, clipped to [0, 1]. */
function shifted(rng: Random, mean: number, contrast: number): number {
  return Math.min(1, Math.max(0, mean + (rng.bernoulli(0.5) ? contrast : -contrast)));
}

function greyColour(channels: number, value: number): number[] {
  return Array.from({ length: channels }, () => value);
}

/** Paste one defect of `kind` into `image` in place; returns its alpha plane. */
function applyPastedDefect(rng: Random, image: Image, kind: PastedDefectKind, stats: ImageStatistics): Plane {
  const size = image.width;
  const channels = image.channels as 1 | 3;
  switch (kind) {
    case "scratch": {
      const start = foregroundCentre(rng, size, stats, 0.15);
      const length = rng.range(0.1, 0.4) * size;
      const width = Math.max(1, (rng.range(1, 3) * size) / 128);
      const alpha = polylineAlpha(size, randomCurve(rng, start, length), width);
      blendColour(
        image,
        alpha,
        greyColour(channels, shifted(rng, stats.foregroundMean, rng.range(0.3, 0.6))),
      );
      return alpha;
    }
    case "hole": {
      const [cx, cy] = foregroundCentre(rng, size, stats, 0.15);
      const alpha = blobAlpha(rng, size, cx, cy, rng.range(0.03, 0.08) * size, 1.2, 0.2);
      const dark = stats.low + rng.range(0, 0.1) * (stats.high - stats.low);
      blendColour(image, alpha, greyColour(channels, dark));
      return alpha;
    }
    case "stain": {
      const [cx, cy] = foregroundCentre(rng, size, stats, 0.2);
      const radius = rng.range(0.06, 0.14) * size;
      const alpha = blobAlpha(rng, size, cx, cy, radius, Math.min(2, radius * 0.25), 0.3);
      const colour =
        channels === 3
          ? [
              [0.15, 0.25, 0.65],
              [0.2, 0.5, 0.15],
              [0.04, 0.04, 0.05],
              [0.96, 0.96, 0.92],
            ][rng.int(4)]
          : greyColour(channels, shifted(rng, stats.foregroundMean, rng.range(0.25, 0.5)));
      blendColour(image, alpha, colour, rng.range(0.6, 0.8));
      return alpha;
    }
    case "texture_blend": {
      const style = industrialStyle(rng, industrialTextures[rng.int(industrialTextures.length)]);
      const texture = generateIndustrialImage(rng, { size, channels, style }, "good");
      const alpha = perlinPatchAlpha(rng, size);
      blendImage(image, texture.image, alpha, rng.range(0.85, 1));
      return alpha;
    }
    case "lesion": {
      const [cx, cy] = foregroundCentre(rng, size, stats, 0.2);
      const radius = rng.range(0.02, 0.08) * size;
      const alpha = clipAlpha(
        blobAlpha(rng, size, cx, cy, radius, Math.min(2, radius * rng.range(0.2, 0.5)), 0.25),
        stats.foreground,
      );
      let weight = 0;
      let covered = 0;
      for (let i = 0; i < alpha.length; i++) {
        weight += alpha[i];
        covered += alpha[i] * stats.grey[i];
      }
      const level = shifted(rng, weight > 0 ? covered / weight : stats.foregroundMean, rng.range(0.1, 0.45));
      const perlin = new Perlin(rng);
      const scale = rng.range(3, 8) / size;
      const roughness = rng.range(0, 0.15);
      const field = new Float32Array(size * size);
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++)
          field[y * size + x] = Math.min(
            1,
            Math.max(0, level + roughness * perlin.fbm(x * scale, y * scale, 2)),
          );
      blendImage(image, colourise(field, size, channels, [0, 0, 0], [1, 1, 1]), alpha, rng.range(0.6, 0.95));
      return alpha;
    }
  }
}

/**
 * A copy of the square `image` with one pasted defect of `kind`, drawn from `rng`, and its mask. The
 * input is not changed.
 */
export function pasteDefect(rng: Random, image: Image, kind: PastedDefectKind): PastedDefect {
  if (image.width !== image.height)
    throw new Error(`pasteDefect needs a square image, got ${image.width}×${image.height}`);
  const stats = statistics(image);
  const minimumArea = Math.max(4, 0.001 * image.width * image.height);
  let pasted = cloneImage(image);
  let alpha = applyPastedDefect(rng, pasted, kind, stats);
  for (let attempt = 1; attempt < 20 && maskArea(alpha) < minimumArea; attempt++) {
    pasted = cloneImage(image);
    alpha = applyPastedDefect(rng, pasted, kind, stats);
  }
  const mask = createImage(image.width, image.height, 1);
  for (let i = 0; i < alpha.length; i++) mask.data[i] = alpha[i] >= 0.5 ? 1 : 0;
  undoFarFromMask(pasted, image, mask.data);
  return { image: pasted, mask, kind };
}

/** Chebyshev distance in pixels within which a change around the mask is kept. */
const FRINGE = 2;

/**
 * Restore the original value of every pixel farther than `FRINGE` pixels from the mask, so that the
 * mask accounts for the whole defect (faint fringes of a texture blend's Perlin alpha would otherwise
 * change pixels no mask labels).
 */
function undoFarFromMask(pasted: Image, original: Image, mask: Float32Array): void {
  const size = pasted.width;
  const near = new Uint8Array(size * size);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      if (mask[y * size + x] === 0) continue;
      for (let v = Math.max(0, y - FRINGE); v <= Math.min(size - 1, y + FRINGE); v++)
        for (let u = Math.max(0, x - FRINGE); u <= Math.min(size - 1, x + FRINGE); u++)
          near[v * size + u] = 1;
    }
  const plane = size * size;
  for (let c = 0; c < pasted.channels; c++)
    for (let i = 0; i < plane; i++) if (!near[i]) pasted.data[c * plane + i] = original.data[c * plane + i];
}
