/**
 * A brain-like axial slice phantom (BMAD-like brain MRI): scalp, a bright skull ring, a thin CSF
 * layer, grey-matter cortex with a wavy boundary to the white matter, and two lateral ventricles, all
 * as smooth ellipses with soft edges; per-subject anatomy jitter, pose variation (rotation, scale,
 * shift), a smooth bias field and Gaussian noise. Lesions are bright or dark blobs with fuzzy borders
 * inside the brain.
 */
import type { Random } from "../util/random.js";
import { Perlin } from "./noise.js";
import {
  blendColour,
  blobAlpha,
  clipAlpha,
  cloneImage,
  colourise,
  finishSample,
  maskArea,
  type Plane,
} from "./raster.js";
import type { ImageShape, SynthSample } from "./types.js";

export const medicalDefects = ["bright_lesion", "dark_lesion"] as const;
export type MedicalDefect = (typeof medicalDefects)[number];

const grey = [0, 0, 0];
const white = [1, 1, 1];

const intensity = {
  background: 0.02,
  scalp: 0.38,
  skull: 0.88,
  csf: 0.12,
  greyMatter: 0.45,
  whiteMatter: 0.68,
};

interface SlicePose {
  cx: number;
  cy: number;
  angle: number;
  scale: number;
  /** Brain half-axes as fractions of the side. */
  ax: number;
  ay: number;
  ventricleScale: number;
}

/** Soft step: 1 well below `edge`, 0 well above, over `width` in the same units. */
function below(value: number, edge: number, width: number): number {
  return Math.min(1, Math.max(0, (edge - value) / width + 0.5));
}

function mix(value: number, target: number, weight: number): number {
  return value + weight * (target - value);
}

interface SliceRender {
  field: Plane;
  /** Soft mask of brain tissue: inside the CSF layer, outside the ventricles. */
  brain: Plane;
}

function renderSlice(size: number, pose: SlicePose, perlin: Perlin): SliceRender {
  const field = new Float32Array(size * size);
  const brain = new Float32Array(size * size);
  const cos = Math.cos(pose.angle);
  const sin = Math.sin(pose.angle);
  const edge = 1.2 / (size * pose.scale * pose.ax);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = (x + 0.5 - pose.cx) / size;
      const v = (y + 0.5 - pose.cy) / size;
      const p = (cos * u + sin * v) / pose.scale;
      const q = (-sin * u + cos * v) / pose.scale;
      const rho = Math.hypot(p / pose.ax, q / pose.ay);
      const gyri = perlin.fbm(p * 14, q * 14, 3);
      let value = intensity.background;
      value = mix(value, intensity.scalp, below(rho, 1.17, edge));
      value = mix(value, intensity.skull, below(rho, 1.1, edge));
      value = mix(value, intensity.csf, below(rho, 1.03, edge));
      const parenchyma = below(rho + 0.025 * gyri, 0.99, edge);
      value = mix(value, intensity.greyMatter, parenchyma);
      value = mix(value, intensity.whiteMatter, below(rho + 0.09 * gyri, 0.8, edge));
      let ventricles = 0;
      for (const side of [-1, 1]) {
        const vp = p - side * 0.055;
        const vq = q + 0.02;
        const tilt = side * 0.35;
        const a = (Math.cos(tilt) * vp + Math.sin(tilt) * vq) / (0.032 * pose.ventricleScale);
        const b = (-Math.sin(tilt) * vp + Math.cos(tilt) * vq) / (0.11 * pose.ventricleScale);
        ventricles = Math.max(ventricles, below(Math.hypot(a, b), 1, edge * 4));
      }
      value = mix(value, intensity.csf, ventricles);
      const bias = 1 + 0.08 * perlin.noise(p * 2 + 40, q * 2 + 40);
      field[y * size + x] = value * bias + 0.02 * perlin.noise(p * 40 + 80, q * 40);
      brain[y * size + x] = parenchyma * (1 - ventricles);
    }
  }
  return { field, brain };
}

/** One brain slice, normal (`"good"`) or with a lesion of the given kind. */
export function generateMedicalImage(
  rng: Random,
  shape: ImageShape,
  defect: MedicalDefect | "good",
): SynthSample {
  const { size, channels } = shape;
  const pose: SlicePose = {
    cx: size / 2 + rng.range(-0.04, 0.04) * size,
    cy: size / 2 + rng.range(-0.04, 0.04) * size,
    angle: rng.range(-10, 10) * (Math.PI / 180),
    scale: rng.range(0.92, 1.05),
    ax: 0.3 * rng.range(0.95, 1.05),
    ay: 0.37 * rng.range(0.95, 1.05),
    ventricleScale: rng.range(0.8, 1.25),
  };
  const render = renderSlice(size, pose, new Perlin(rng));
  const reference = colourise(render.field, size, channels, grey, white);
  const image = cloneImage(reference);
  const alpha = defect === "good" ? undefined : lesionAlpha(rng, size, pose, render.brain);
  if (alpha) {
    const target = defect === "bright_lesion" ? 0.95 : 0.06;
    blendColour(image, alpha, channels === 1 ? [target] : [target, target, target], rng.range(0.75, 0.9));
  }
  return finishSample(rng, image, reference, alpha, defect, 0.02);
}

/**
 * Alpha of a lesion: an irregular fuzzy blob centred in the inner 70 % of the brain, clipped to brain
 * tissue; redrawn until at least 60 % of it lies in tissue (not in a ventricle or outside the brain).
 */
function lesionAlpha(rng: Random, size: number, pose: SlicePose, brain: Plane): Plane {
  const cos = Math.cos(pose.angle);
  const sin = Math.sin(pose.angle);
  for (;;) {
    const angle = rng.range(0, 2 * Math.PI);
    const r = Math.sqrt(rng.uniform()) * 0.7;
    const p = r * pose.ax * Math.cos(angle);
    const q = r * pose.ay * Math.sin(angle);
    const cx = pose.cx + size * pose.scale * (cos * p - sin * q);
    const cy = pose.cy + size * pose.scale * (sin * p + cos * q);
    const radius = rng.range(0.03, 0.065) * size;
    const blob = blobAlpha(rng, size, cx, cy, radius, radius * 0.35, 0.2);
    const area = maskArea(blob);
    const alpha = clipAlpha(blob, brain);
    if (maskArea(alpha) >= 0.6 * area) return alpha;
  }
}
