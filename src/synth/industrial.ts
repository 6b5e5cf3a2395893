/**
 * Industrial textures (MVTec-like "texture" categories): one texture family per data set — woven
 * fabric, metal grid, noise (leather/carpet-like) or wood — whose normal images vary in phase,
 * orientation (a few degrees), contrast, brightness and sensor noise. Defects: scratches (thin bright
 * or dark curves), holes (dark blobs), stains (colour or brightness patches) and texture blends (a
 * patch of another texture family blended in through a thresholded Perlin mask, as in DRAEM).
 */
import type { Image } from "../io/image.js";
import type { Random } from "../util/random.js";
import { Perlin } from "./noise.js";
import {
  blendColour,
  blendImage,
  blobAlpha,
  cloneImage,
  colourise,
  finishSample,
  maskArea,
  type Plane,
  polylineAlpha,
  randomCurve,
} from "./raster.js";
import type { ImageShape, IndustrialTexture, SynthSample } from "./types.js";
import { industrialTextures } from "./types.js";

export const industrialDefects = ["scratch", "hole", "stain", "texture_blend"] as const;
export type IndustrialDefect = (typeof industrialDefects)[number];

/** What every image of one data set shares: the texture family, its scale, orientation and colours. */
export interface IndustrialStyle {
  texture: IndustrialTexture;
  /** Pattern period as a fraction of the image side. */
  period: number;
  /** Base orientation in radians; each image adds a few degrees of jitter. */
  orientation: number;
  dark: readonly number[];
  light: readonly number[];
}

const palettes: Record<IndustrialTexture, { dark: number[]; light: number[] }> = {
  woven: { dark: [0.16, 0.13, 0.1], light: [0.9, 0.82, 0.66] },
  grid: { dark: [0.08, 0.09, 0.11], light: [0.82, 0.83, 0.8] },
  noise: { dark: [0.22, 0.11, 0.07], light: [0.8, 0.55, 0.38] },
  wood: { dark: [0.3, 0.17, 0.07], light: [0.9, 0.68, 0.42] },
};

const basePeriod: Record<IndustrialTexture, number> = { woven: 0.08, grid: 0.11, noise: 0.07, wood: 0.09 };

/** A data set's texture style, drawn from `rng`. */
export function industrialStyle(rng: Random, texture: IndustrialTexture = "woven"): IndustrialStyle {
  const tint = [rng.range(-0.04, 0.04), rng.range(-0.04, 0.04), rng.range(-0.04, 0.04)];
  const { dark, light } = palettes[texture];
  return {
    texture,
    period: basePeriod[texture] * rng.range(0.85, 1.15),
    orientation: rng.range(-0.3, 0.3),
    dark: dark.map((v, c) => Math.min(1, Math.max(0, v + tint[c]))),
    light: light.map((v, c) => Math.min(1, Math.max(0, v + tint[c]))),
  };
}

interface TextureParams {
  period: number;
  angle: number;
  phaseX: number;
  phaseY: number;
  contrast: number;
  brightness: number;
}

/** The grey field (values about [0, 1]) of one texture family at one phase and orientation. */
function renderTexture(
  texture: IndustrialTexture,
  size: number,
  params: TextureParams,
  perlin: Perlin,
): Plane {
  const field = new Float32Array(size * size);
  const cos = Math.cos(params.angle);
  const sin = Math.sin(params.angle);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = (x + 0.5) / size - 0.5;
      const v = (y + 0.5) / size - 0.5;
      const a = (cos * u + sin * v) / params.period + params.phaseX;
      const b = (-sin * u + cos * v) / params.period + params.phaseY;
      let value: number;
      switch (texture) {
        case "woven": {
          const fa = a - Math.floor(a);
          const fb = b - Math.floor(b);
          const horizontalOnTop = ((Math.floor(a) + Math.floor(b)) & 1) === 0;
          const across = Math.sin(Math.PI * (horizontalOnTop ? fb : fa));
          const along = Math.sin(Math.PI * (horizontalOnTop ? fa : fb));
          const fibres = perlin.noise(a * 6, b * 6);
          value = 0.15 + 0.7 * Math.sqrt(across) * (0.7 + 0.3 * along) + 0.06 * fibres;
          break;
        }
        case "grid": {
          const da = Math.abs(a - Math.round(a));
          const db = Math.abs(b - Math.round(b));
          const line = Math.max(Math.exp(-((da / 0.09) ** 2)), Math.exp(-((db / 0.09) ** 2)));
          value = 0.72 - 0.55 * line + 0.05 * perlin.fbm(a * 2, b * 2, 3);
          break;
        }
        case "noise":
          value = 0.5 + 0.55 * perlin.fbm(a, b, 4, 0.55);
          break;
        case "wood": {
          const rings = Math.sin(2 * Math.PI * (a + 1.2 * perlin.fbm(a * 0.3, b * 0.08, 3)));
          const grain = perlin.noise(a * 4, b * 0.4);
          value = 0.5 + 0.22 * rings + 0.1 * grain;
          break;
        }
      }
      field[y * size + x] = 0.5 + (value - 0.5) * params.contrast + params.brightness;
    }
  }
  return field;
}

function randomParams(rng: Random, style: IndustrialStyle): TextureParams {
  return {
    period: style.period,
    angle: style.orientation + (rng.range(-1, 1) * (4 * Math.PI)) / 180,
    phaseX: rng.range(0, 64),
    phaseY: rng.range(0, 64),
    contrast: rng.range(0.85, 1.15),
    brightness: rng.range(-0.04, 0.04),
  };
}

/** A mid-image centre: defects stay at least `margin` (fraction of the side) from the border. */
function defectCentre(rng: Random, size: number, margin: number): [number, number] {
  return [rng.range(margin, 1 - margin) * size, rng.range(margin, 1 - margin) * size];
}

/** Alpha of a texture-blend region: Perlin noise above a threshold, inside a soft disc window. */
export function perlinPatchAlpha(rng: Random, size: number): Plane {
  const [cx, cy] = defectCentre(rng, size, 0.25);
  const radius = rng.range(0.12, 0.22) * size;
  for (let attempt = 0; ; attempt++) {
    const perlin = new Perlin(rng);
    const scale = rng.range(2.5, 4) / size;
    const threshold = attempt < 4 ? rng.range(-0.05, 0.1) : -1;
    const alpha = new Float32Array(size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const window = Math.min(1, Math.max(0, (radius - Math.hypot(x - cx, y - cy)) / 3 + 0.5));
        if (window === 0) continue;
        const n = perlin.fbm(x * scale, y * scale, 2);
        alpha[y * size + x] = window * Math.min(1, Math.max(0, (n - threshold) * 12));
      }
    }
    if (maskArea(alpha) >= 0.01 * size * size) return alpha;
  }
}

/** Options for one industrial image. */
export interface IndustrialImageOptions extends ImageShape {
  style: IndustrialStyle;
}

/** One industrial texture image, normal (`"good"`) or with the given defect. */
export function generateIndustrialImage(
  rng: Random,
  options: IndustrialImageOptions,
  defect: IndustrialDefect | "good",
): SynthSample {
  const { size, channels, style } = options;
  const field = renderTexture(style.texture, size, randomParams(rng, style), new Perlin(rng));
  const reference = colourise(field, size, channels, style.dark, style.light);
  const image = cloneImage(reference);
  const alpha = defect === "good" ? undefined : applyDefect(rng, image, options, defect);
  return finishSample(rng, image, reference, alpha, defect, rng.range(0.01, 0.025));
}

function applyDefect(
  rng: Random,
  image: Image,
  options: IndustrialImageOptions,
  defect: IndustrialDefect,
): Plane {
  const { size, channels, style } = options;
  const grey = (v: number) => (channels === 1 ? [v] : [v, v, v]);
  switch (defect) {
    case "scratch": {
      const length = rng.range(0.1, 0.4) * size;
      const start = defectCentre(rng, size, 0.15);
      const width = (rng.range(1, 3) * size) / 128;
      const alpha = polylineAlpha(size, randomCurve(rng, start, length), width);
      blendColour(image, alpha, grey(rng.bernoulli(0.5) ? 0.97 : 0.03));
      return alpha;
    }
    case "hole": {
      const [cx, cy] = defectCentre(rng, size, 0.15);
      const radius = rng.range(0.03, 0.08) * size;
      const alpha = blobAlpha(rng, size, cx, cy, radius, 1.2, 0.2);
      blendColour(image, alpha, grey(rng.range(0.02, 0.08)));
      return alpha;
    }
    case "stain": {
      const [cx, cy] = defectCentre(rng, size, 0.2);
      const radius = rng.range(0.06, 0.14) * size;
      const alpha = blobAlpha(rng, size, cx, cy, radius, radius * 0.25, 0.3);
      const colour =
        channels === 1
          ? [rng.bernoulli(0.5) ? 0.95 : 0.08]
          : [
              [0.15, 0.25, 0.65],
              [0.2, 0.5, 0.15],
              [0.04, 0.04, 0.05],
              [0.96, 0.96, 0.92],
            ][rng.int(4)];
      blendColour(image, alpha, colour, rng.range(0.6, 0.8));
      return alpha;
    }
    case "texture_blend": {
      const others = industrialTextures.filter((t) => t !== style.texture);
      const otherStyle = industrialStyle(rng, others[rng.int(others.length)]);
      const params = randomParams(rng, otherStyle);
      params.period *= rng.range(0.6, 1.4);
      params.contrast *= 1.3;
      params.brightness += (rng.bernoulli(0.5) ? 1 : -1) * rng.range(0.18, 0.3);
      const otherField = renderTexture(otherStyle.texture, size, params, new Perlin(rng));
      const other = colourise(otherField, size, channels, otherStyle.dark, otherStyle.light);
      const alpha = perlinPatchAlpha(rng, size);
      blendImage(image, other, alpha, rng.range(0.85, 1));
      return alpha;
    }
  }
}
