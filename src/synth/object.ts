/**
 * Objects seen from above (MVTec-like "object" categories): a round nut with a knurled rim, a groove,
 * a finely turned face with an orientation notch, a bright inner collar and a through hole, centred on
 * a plain background, with small variation in rotation, position, scale and brightness. Defects:
 * a missing chunk of the rim, a scratch across the face, and a contamination spot (dark dirt or
 * white residue).
 */
import type { Image } from "../io/image.js";
import type { Random } from "../util/random.js";
import {
  blendColour,
  blendImage,
  blobAlpha,
  clipAlpha,
  cloneImage,
  colourise,
  finishSample,
  type Plane,
  polylineAlpha,
  randomCurve,
} from "./raster.js";
import type { ImageShape, SynthSample } from "./types.js";

export const objectDefects = ["missing_chunk", "scratch", "contamination"] as const;
export type ObjectDefect = (typeof objectDefects)[number];

const dark = [0.05, 0.05, 0.06];
const light = [0.98, 0.85, 0.55];
/** Outer radius of the nut as a fraction of the image side, at scale 1. */
const radius = 0.33;

interface ObjectPose {
  cx: number;
  cy: number;
  angle: number;
  scale: number;
  brightness: number;
}

/** Soft step: 1 well below `edge`, 0 well above, over about one pixel (`pixel` in the same units). */
function below(value: number, edge: number, pixel: number): number {
  return Math.min(1, Math.max(0, (edge - value) / pixel + 0.5));
}

interface ObjectRender {
  field: Plane;
  background: Plane;
  /** Coverage of the nut (0 outside, 0 inside the through hole). */
  coverage: Plane;
}

function renderObject(size: number, pose: ObjectPose): ObjectRender {
  const field = new Float32Array(size * size);
  const background = new Float32Array(size * size);
  const coverage = new Float32Array(size * size);
  const cos = Math.cos(pose.angle);
  const sin = Math.sin(pose.angle);
  const pixel = 1 / (size * pose.scale * radius);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = (x + 0.5 - pose.cx) / size;
      const v = (y + 0.5 - pose.cy) / size;
      const p = (cos * u + sin * v) / (pose.scale * radius);
      const q = (-sin * u + cos * v) / (pose.scale * radius);
      const r = Math.hypot(p, q);
      const phi = Math.atan2(q, p);
      const back = 0.22 + 0.04 * ((y + 0.5) / size - 0.5);
      const edge = 1 + 0.012 * Math.cos(36 * phi);
      const inHole = below(r, 0.24, pixel);
      const body = below(r, edge, pixel) * (1 - inHole);
      let value: number;
      if (r > 0.86) value = 0.8 - 0.25 * Math.max(0, (r - 0.93) / 0.07);
      else if (r > 0.8) value = 0.35;
      else if (r > 0.32) {
        const notch = below(Math.hypot(p - 0.56, q), 0.07, pixel);
        value = 0.6 + 0.05 * Math.sin((2 * Math.PI * r) / 0.035) - 0.35 * notch;
      } else value = 0.88;
      const lighting = 1 + 0.12 * (u * 0.7 - v * 0.7) * 2;
      value = value * lighting * pose.brightness;
      background[y * size + x] = back;
      coverage[y * size + x] = body;
      field[y * size + x] = back + body * (value - back);
    }
  }
  return { field, background, coverage };
}

/** One object image, normal (`"good"`) or with the given defect. */
export function generateObjectImage(
  rng: Random,
  shape: ImageShape,
  defect: ObjectDefect | "good",
): SynthSample {
  const { size, channels } = shape;
  const pose: ObjectPose = {
    cx: size / 2 + rng.range(-0.03, 0.03) * size,
    cy: size / 2 + rng.range(-0.03, 0.03) * size,
    angle: rng.range(0, 2 * Math.PI),
    scale: rng.range(0.95, 1.05),
    brightness: rng.range(0.92, 1.08),
  };
  const render = renderObject(size, pose);
  const reference = colourise(render.field, size, channels, dark, light);
  const image = cloneImage(reference);
  const alpha = defect === "good" ? undefined : applyDefect(rng, image, shape, pose, render, defect);
  return finishSample(rng, image, reference, alpha, defect, 0.01);
}

/** A point on the nut at a radius between `inner` and `outer` (fractions of its radius), in pixels. */
function pointOnObject(
  rng: Random,
  size: number,
  pose: ObjectPose,
  inner: number,
  outer: number,
): [number, number] {
  const angle = rng.range(0, 2 * Math.PI);
  const r = rng.range(inner, outer) * radius * pose.scale * size;
  return [pose.cx + r * Math.cos(angle), pose.cy + r * Math.sin(angle)];
}

function applyDefect(
  rng: Random,
  image: Image,
  shape: ImageShape,
  pose: ObjectPose,
  render: ObjectRender,
  defect: ObjectDefect,
): Plane {
  const { size, channels } = shape;
  const nutRadius = radius * pose.scale * size;
  switch (defect) {
    case "missing_chunk": {
      const [cx, cy] = pointOnObject(rng, size, pose, 0.97, 1.03);
      const alpha = clipAlpha(
        blobAlpha(rng, size, cx, cy, rng.range(0.16, 0.26) * nutRadius, 1, 0.15),
        render.coverage,
      );
      blendImage(image, colourise(render.background, size, channels, dark, light), alpha);
      return alpha;
    }
    case "scratch": {
      const start = pointOnObject(rng, size, pose, 0.35, 0.75);
      const length = rng.range(0.1, 0.3) * size;
      const width = (rng.range(1, 3) * size) / 128;
      const alpha = clipAlpha(polylineAlpha(size, randomCurve(rng, start, length), width), render.coverage);
      const value = rng.bernoulli(0.5) ? 0.98 : 0.05;
      blendColour(image, alpha, channels === 1 ? [value] : [value, value, value]);
      return alpha;
    }
    case "contamination": {
      const [cx, cy] = pointOnObject(rng, size, pose, 0.4, 0.75);
      const alpha = clipAlpha(
        blobAlpha(rng, size, cx, cy, rng.range(0.035, 0.06) * size, 1.5, 0.35),
        render.coverage,
      );
      const dirt = rng.bernoulli(0.5);
      const colour = channels === 1 ? [dirt ? 0.08 : 0.97] : dirt ? [0.3, 0.2, 0.08] : [0.9, 0.95, 0.98];
      blendColour(image, alpha, colour, rng.range(0.8, 0.95));
      return alpha;
    }
  }
}
