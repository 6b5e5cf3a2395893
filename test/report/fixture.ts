/**
 * Realistic synthetic input for the report: textured grey (or colour) images, anomalous ones with a
 * bright blob whose anomaly map peaks there, ground-truth masks, predicted masks from a pixel
 * threshold, scores with a few false positives and false negatives, and the ROC curve.
 */
import { createImage, type Image } from "../../src/io/image.js";
import { rocCurve } from "../../src/metrics/roc.js";
import type { TestReportImage, TestReportInput } from "../../src/report/index.js";
import { Random } from "../../src/util/random.js";

export interface FixtureOptions {
  normal?: number;
  anomalous?: number;
  size?: number;
  channels?: 1 | 3;
  seed?: number;
}

const PIXEL_THRESHOLD = 0.35;

function texture(random: Random, size: number, channels: number): Image {
  const image = createImage(size, size, channels);
  const plane = size * size;
  const phase = random.range(0, Math.PI * 2);
  for (let c = 0; c < channels; c++) {
    const tint = channels === 3 ? [0.95, 0.8, 0.6][c] : 1;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const r = Math.hypot(x - size / 2, y - size / 2) / (size / 2);
        const disc = r < 0.85 ? 0.45 + 0.08 * Math.sin((x + y) / 6 + phase) : 0.1;
        image.data[c * plane + y * size + x] = tint * (disc + 0.03 * random.normal());
      }
    }
  }
  return image;
}

function sample(random: Random, index: number, anomalous: boolean, size: number, channels: number) {
  const image = texture(random, size, channels);
  const plane = size * size;
  const map = new Float32Array(plane);
  for (let i = 0; i < plane; i++) map[i] = 0.08 + 0.04 * Math.abs(random.normal());
  let mask: Float32Array | null = null;
  if (anomalous) {
    mask = new Float32Array(plane);
    const cx = random.range(0.3, 0.7) * size;
    const cy = random.range(0.3, 0.7) * size;
    const radius = random.range(0.05, 0.12) * size;
    const strength = index % 7 === 3 ? 0.25 : random.range(0.6, 1.2);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const d = Math.hypot(x - cx, y - cy);
        const i = y * size + x;
        if (d <= radius) {
          mask[i] = 1;
          for (let c = 0; c < channels; c++)
            image.data[c * plane + i] = Math.min(1, image.data[c * plane + i] + 0.4);
        }
        map[i] += strength * Math.exp(-((d / (radius * 1.1)) ** 2));
      }
    }
  } else if (index % 9 === 4) {
    const cx = size * 0.3;
    const cy = size * 0.65;
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        map[y * size + x] += 0.5 * Math.exp(-((Math.hypot(x - cx, y - cy) / 6) ** 2));
  }
  const predictedMask = new Uint8Array(plane);
  for (let i = 0; i < plane; i++) predictedMask[i] = map[i] > PIXEL_THRESHOLD ? 1 : 0;
  let score = 0;
  for (const v of map) score = Math.max(score, v);
  return { image, map, mask, predictedMask, score };
}

export function fakeReportInput(options: FixtureOptions = {}): TestReportInput {
  const random = new Random(options.seed ?? 7);
  const size = options.size ?? 128;
  const channels = options.channels ?? 1;
  const threshold = 0.42;
  const images: TestReportImage[] = [];
  const counts = { normal: options.normal ?? 24, anomalous: options.anomalous ?? 24 };
  for (const [kind, n] of [
    ["good", counts.normal],
    ["blob", counts.anomalous],
  ] as const) {
    for (let k = 0; k < n; k++) {
      const anomalous = kind === "blob";
      const s = sample(random, k, anomalous, size, channels);
      images.push({
        path: `/data/mvtec/capsule/test/${kind}/${String(k).padStart(3, "0")}.png`,
        label: anomalous ? 1 : 0,
        score: s.score,
        normalizedScore: Math.min(1, (0.5 * s.score) / threshold),
        predictedLabel: s.score > threshold ? 1 : 0,
        defectType: anomalous ? "blob" : undefined,
        image: s.image,
        anomalyMap: s.map,
        mask: anomalous ? s.mask : new Float32Array(size * size),
        predictedMask: s.predictedMask,
      });
    }
  }
  const roc = rocCurve(
    images.map((i) => i.score),
    images.map((i) => i.label),
  );
  return {
    title: "anomalyscope report — ae",
    createdAt: "2026-11-30T19:24:05.000Z",
    method: "ae",
    modelDir: "models/capsule",
    dataset: { path: "/data/mvtec", layout: "mvtec", category: "capsule" },
    metrics: {
      image_auroc: 0.953,
      pixel_auroc: 0.9412,
      aupro: 0.8123,
      f1_max: 0.9167,
      average_precision: 0.948,
      threshold,
      accuracy_at_threshold: 0.875,
      f1_at_threshold: 0.87,
      n_normal: counts.normal,
      n_anomalous: counts.anomalous,
      evaluation_resolution: `${size}x${size}`,
    },
    threshold: {
      image: threshold,
      pixel: PIXEL_THRESHOLD,
      provenance: "99th percentile of 20 normal validation scores",
      pixelProvenance: "99.9th percentile of 327680 normal validation pixels",
    },
    roc: { fpr: roc.map((p) => p.fpr), tpr: roc.map((p) => p.tpr) },
    images,
    config: { method: "ae", config: { latent: 128, epochs: 50, lr: 0.001 }, imageSize: size, channels },
    notes: ["Synthetic fixture for the report's visual check.", "SQUID pixel maps are our extension."],
  };
}
