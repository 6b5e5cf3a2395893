/**
 * Heat-map rendering: the perceptual "inferno" colormap (black → purple → orange → pale yellow, with
 * monotonically rising luminance, so brighter always means more anomalous, also in greyscale print),
 * a shared normalisation of raw maps, the blend of a map over its image, box downscaling for
 * thumbnails and 1-pixel contours of binary masks.
 *
 * Normalisation: one fixed `MapRange` is used for every image of a report, so a colour means the same
 * score everywhere. It is derived from the pixels of the normal test images (`mapRange`): the lower end
 * is their median (typical normal tissue/surface stays uncoloured) and the upper end puts the pixel
 * threshold in the middle of the scale (lo + 2·(threshold − lo)); without a pixel threshold the upper
 * end is the normal pixels' 99.9th percentile. Inferno has no green or cyan, so the ground-truth
 * (solid green) and predicted (dashed cyan) contours stay distinguishable on top of it.
 */
import { createImage, type Image } from "../io/image.js";
import type { MapRange } from "./types.js";

/** Polynomial fit of matplotlib's inferno (per channel, degree 6, coefficients from t⁰ up). */
const INFERNO = [
  [
    0.0002189403691192265, 0.1065134194856116, 11.60249308247187, -41.70399613139459, 77.162935699427,
    -71.31942824499214, 25.13112622477341,
  ],
  [
    0.001651004631001012, 0.5639564367884091, -3.972853965665698, 17.43639888205313, -33.40235894210092,
    32.62606426397723, -12.24266895238567,
  ],
  [
    -0.01948089843709184, 3.932712388889277, -15.9423941062914, 44.35414519872813, -81.80730925738993,
    73.20951985803202, -23.07032500287172,
  ],
] as const;

export type Rgb = readonly [number, number, number];

const clip01 = (v: number) => Math.min(1, Math.max(0, Number.isNaN(v) ? 0 : v));

function polynomial(coefficients: readonly number[], x: number): number {
  let y = 0;
  for (let k = coefficients.length - 1; k >= 0; k--) y = y * x + coefficients[k];
  return y;
}

/** Inferno colour of v in [0, 1] (clipped) as [r, g, b] in [0, 1]. */
export function inferno(v: number): [number, number, number] {
  const x = clip01(v);
  return [
    clip01(polynomial(INFERNO[0], x)),
    clip01(polynomial(INFERNO[1], x)),
    clip01(polynomial(INFERNO[2], x)),
  ];
}

/** Rec. 709 relative luminance of a linear-ish RGB triple (used to check the ramp). */
export function luminance([r, g, b]: Rgb): number {
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** CSS `#rrggbb` of a colour in [0, 1]. */
export function cssColour(colour: Rgb): string {
  return `#${colour
    .map((c) =>
      Math.round(clip01(c) * 255)
        .toString(16)
        .padStart(2, "0"),
    )
    .join("")}`;
}

/** Ground-truth contour: solid green. */
export const GROUND_TRUTH_COLOUR: Rgb = [0.2, 1, 0.3];
/** Predicted-mask contour: dashed cyan. */
export const PREDICTED_COLOUR: Rgb = [0, 0.85, 1];

/** The image as RGB (grey replicated); RGB images are returned as they are. */
export function toRgb(image: Image): Image {
  if (image.channels === 3) return image;
  if (image.channels !== 1) throw new Error(`toRgb: expected 1 or 3 channels, got ${image.channels}`);
  const out = createImage(image.width, image.height, 3);
  const plane = image.width * image.height;
  for (let c = 0; c < 3; c++) out.data.set(image.data.subarray(0, plane), c * plane);
  return out;
}

function quantile(sorted: Float32Array, q: number): number {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
}

/** At most this many pixels (an even stride over all maps) estimate the range. */
const RANGE_SAMPLE = 200_000;

/**
 * The colour range shared by all overlays of a report, from the raw maps of the normal images (pass
 * all maps when there are no normal ones): lo = median normal pixel; hi = lo + 2·(pixelThreshold − lo)
 * so the threshold sits mid-scale, or the 99.9th percentile of normal pixels without a threshold.
 */
export function mapRange(normalMaps: readonly ArrayLike<number>[], pixelThreshold: number | null): MapRange {
  const total = normalMaps.reduce((n, m) => n + m.length, 0);
  if (total === 0) return pixelThreshold === null ? { lo: 0, hi: 1 } : { lo: 0, hi: 2 * pixelThreshold || 1 };
  const stride = Math.max(1, Math.ceil(total / RANGE_SAMPLE));
  const sample: number[] = [];
  let offset = 0;
  for (const map of normalMaps) {
    for (let i = (stride - (offset % stride)) % stride; i < map.length; i += stride) {
      if (Number.isFinite(map[i])) sample.push(map[i]);
    }
    offset += map.length;
  }
  const sorted = Float32Array.from(sample).sort();
  if (sorted.length === 0) return { lo: 0, hi: 1 };
  const lo = quantile(sorted, 0.5);
  let hi =
    pixelThreshold !== null && pixelThreshold > lo ? lo + 2 * (pixelThreshold - lo) : quantile(sorted, 0.999);
  if (!(hi > lo)) hi = sorted[sorted.length - 1] > lo ? sorted[sorted.length - 1] : lo + 1;
  return { lo, hi };
}

/** A raw map mapped onto [0, 1] by `range` (clipped). */
export function normalizeMap(map: ArrayLike<number>, range: MapRange): Float32Array {
  const out = new Float32Array(map.length);
  const span = range.hi - range.lo;
  for (let i = 0; i < map.length; i++) out[i] = clip01((map[i] - range.lo) / span);
  return out;
}

export interface OverlayOptions {
  /** Colour weight at full scale (0: no colour, 1: opaque). Default 0.75. */
  alpha?: number;
  /** Map values mapped to the ends of the colour scale. Default { lo: 0, hi: 1 }. */
  range?: MapRange;
}

/**
 * Blend the map's colours over the image (as RGB). The colour's weight grows with the normalised value
 * v from 0 at v ≤ 0.15 to alpha at v ≥ 0.6 (just above the threshold, which sits at 0.5), so the bottom
 * of the range leaves the pixel untouched, normal regions keep the image visible and anomalous ones glow.
 */
export function overlay(image: Image, map: ArrayLike<number>, options: OverlayOptions = {}): Image {
  const alpha = options.alpha ?? 0.75;
  const range = options.range ?? { lo: 0, hi: 1 };
  const rgb = toRgb(image);
  const plane = rgb.width * rgb.height;
  if (map.length !== plane)
    throw new Error(`overlay: map has ${map.length} values for a ${rgb.width}×${rgb.height} image`);
  const values = normalizeMap(map, range);
  const out = createImage(rgb.width, rgb.height, 3);
  for (let i = 0; i < plane; i++) {
    const v = values[i];
    const weight = alpha * clip01((v - 0.15) / 0.45);
    const colour = inferno(v);
    for (let c = 0; c < 3; c++)
      out.data[c * plane + i] = (1 - weight) * rgb.data[c * plane + i] + weight * colour[c];
  }
  return out;
}

/** Boundary of a binary mask (> 0.5): mask pixels with a 4-neighbour outside the mask or the image. */
export function contour(mask: ArrayLike<number>, width: number, height: number): Uint8Array {
  if (mask.length !== width * height)
    throw new Error(`contour: mask has ${mask.length} values for a ${width}×${height} image`);
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

/**
 * Paint the contour of `mask` onto an RGB image in place; `dashed` leaves out every other run of
 * 3 pixels (along x + y), so a dashed contour stays recognisable on top of a solid one.
 */
export function drawContour(rgb: Image, mask: ArrayLike<number>, colour: Rgb, dashed = false): void {
  const plane = rgb.width * rgb.height;
  const edge = contour(mask, rgb.width, rgb.height);
  for (let i = 0; i < plane; i++) {
    if (!edge[i]) continue;
    if (dashed && Math.floor(((i % rgb.width) + Math.floor(i / rgb.width)) / 3) % 2 === 1) continue;
    for (let c = 0; c < 3; c++) rgb.data[c * plane + i] = colour[c];
  }
}

/** Box-average downscale so that neither side exceeds `maxSide` (returned as is when it already fits). */
export function downscale(image: Image, maxSide: number): Image {
  const { width, height, channels } = image;
  const factor = Math.max(width, height) / maxSide;
  if (factor <= 1) return image;
  const outWidth = Math.max(1, Math.round(width / factor));
  const outHeight = Math.max(1, Math.round(height / factor));
  const out = createImage(outWidth, outHeight, channels);
  const xStart = (x: number) => Math.floor((x * width) / outWidth);
  const yStart = (y: number) => Math.floor((y * height) / outHeight);
  for (let c = 0; c < channels; c++) {
    const source = c * width * height;
    for (let y = 0; y < outHeight; y++) {
      for (let x = 0; x < outWidth; x++) {
        let sum = 0;
        let count = 0;
        for (let sy = yStart(y); sy < yStart(y + 1); sy++) {
          for (let sx = xStart(x); sx < xStart(x + 1); sx++) {
            sum += image.data[source + sy * width + sx];
            count++;
          }
        }
        out.data[c * outWidth * outHeight + y * outWidth + x] = sum / count;
      }
    }
  }
  return out;
}

/** A single-channel plane downscaled like its image. */
function downscalePlane(
  plane: ArrayLike<number>,
  width: number,
  height: number,
  maxSide: number,
): Float32Array {
  return downscale({ data: Float32Array.from(plane), width, height, channels: 1 }, maxSide).data;
}

export interface PanelOptions extends OverlayOptions {
  /** Downscale image, map and masks so that the longer side is at most this (before drawing). */
  maxSide?: number;
}

/**
 * Original and overlay side by side, 4 px apart: the right half carries the heat map, the ground-truth
 * contour (solid green) and the predicted-mask contour (dashed cyan, drawn on top).
 */
export function overlayPanel(
  image: Image,
  map: ArrayLike<number>,
  predictedMask: ArrayLike<number> | null,
  groundTruth: ArrayLike<number> | null,
  options: PanelOptions = {},
): Image {
  const { width, height } = image;
  const maxSide = options.maxSide ?? Math.max(width, height);
  const shrink = (plane: ArrayLike<number>) => downscalePlane(plane, width, height, maxSide);
  const small = downscale(image, maxSide);
  const left = toRgb(small);
  const right = overlay(small, shrink(map), options);
  if (groundTruth) drawContour(right, shrink(groundTruth), GROUND_TRUTH_COLOUR);
  if (predictedMask) drawContour(right, shrink(predictedMask), PREDICTED_COLOUR, true);
  const gap = 4;
  const w = left.width;
  const h = left.height;
  const panelWidth = w * 2 + gap;
  const out = createImage(panelWidth, h, 3);
  out.data.fill(1);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < h; y++) {
      const row = c * panelWidth * h + y * panelWidth;
      out.data.set(left.data.subarray(c * w * h + y * w, c * w * h + (y + 1) * w), row);
      out.data.set(right.data.subarray(c * w * h + y * w, c * w * h + (y + 1) * w), row + w + gap);
    }
  }
  return out;
}
