/**
 * Calibration from scored validation images: the image and pixel thresholds (src/score/threshold.ts)
 * and the normalisation ranges stored in the model. Fed one scored image at a time, so the trainer can
 * calibrate on the validation split read from disk and the selection module on its in-memory validation
 * set with synthetic anomalies. Pixels for the pixel threshold are kept at a fixed stride so that at
 * most about `PIXEL_SAMPLE_LIMIT` are held; only pixels of normal images and of images with a mask count.
 */
import { imageAuroc } from "../metrics/index.js";
import type { Calibration } from "../score/graph.js";
import { chooseThreshold, type ThresholdChoice } from "../score/threshold.js";

/** Pixels kept over all validation images for the pixel threshold. */
const PIXEL_SAMPLE_LIMIT = 2_000_000;

export interface CalibrationItem {
  score: number;
  /** H·W raw map at the input size. */
  map: Float32Array;
  label: 0 | 1;
  /** H·W ground truth (1 anomalous), or null. */
  mask: Float32Array | null;
}

export interface CalibrationResult {
  calibration: Calibration;
  thresholds: { image: ThresholdChoice; pixel: ThresholdChoice };
  /** Image AUROC of the calibration images, when they hold both classes. */
  auroc: number | null;
}

export class CalibrationCollector {
  private readonly scores: number[] = [];
  private readonly labels: number[] = [];
  private readonly pixelScores: number[] = [];
  private readonly pixelLabels: number[] = [];
  private readonly stride: number;
  private pixelMin = Number.POSITIVE_INFINITY;
  private pixelMax = Number.NEGATIVE_INFINITY;

  /** `images` calibration images of `plane` pixels each will be added. */
  constructor(
    images: number,
    private readonly plane: number,
  ) {
    this.stride = Math.max(1, Math.ceil((images * plane) / PIXEL_SAMPLE_LIMIT));
  }

  add(item: CalibrationItem): void {
    this.scores.push(item.score);
    this.labels.push(item.label);
    for (let p = 0; p < this.plane; p++) {
      const v = item.map[p];
      if (v < this.pixelMin) this.pixelMin = v;
      if (v > this.pixelMax) this.pixelMax = v;
      if (p % this.stride === 0 && (item.label === 0 || item.mask)) {
        this.pixelScores.push(v);
        this.pixelLabels.push(item.mask && item.mask[p] > 0.5 ? 1 : 0);
      }
    }
  }

  /** Thresholds (F1-max when anomalies were added, else the percentile rule) and ranges. */
  finish(percentile: number, anomalies: "real" | "synthetic"): CalibrationResult {
    const { scores, labels } = this;
    const image = chooseThreshold(scores, labels, "image", percentile, anomalies);
    const pixel = chooseThreshold(this.pixelScores, this.pixelLabels, "pixel", percentile, anomalies);
    const calibration: Calibration = {
      imageThreshold: image.threshold,
      imageMin: Math.min(...scores),
      imageMax: Math.max(...scores),
      pixelThreshold: pixel.threshold,
      pixelMin: this.pixelMin,
      pixelMax: this.pixelMax,
    };
    const hasBoth = labels.includes(0) && labels.includes(1);
    return { calibration, thresholds: { image, pixel }, auroc: hasBoth ? imageAuroc(scores, labels) : null };
  }
}
