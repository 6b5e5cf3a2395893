/**
 * Types of the report module, in two layers:
 *
 * - `TestReportInput` is what the `test` command hands over when everything is computed: metrics,
 *   thresholds, the ROC curve and every test image with its raw anomaly map and masks. `writeReport`
 *   and `writeOverlayPngs` take it and do all of the rendering (colours, contours, thumbnails, PNG
 *   encoding, ordering, the 48-tile cap).
 * - `ReportInput` is the rendered page model (tiles already encoded as PNG data URIs) that
 *   `renderReport` turns into HTML synchronously; `buildReportPage` derives it from a `TestReportInput`.
 */
import type { Image } from "../io/image.js";

/** Test-set metrics; the field names match `TestMetrics` from src/score/evaluate.ts (extra fields are ignored). */
export interface ReportMetrics {
  image_auroc: number | null;
  /** null when the data set has no pixel masks. */
  pixel_auroc: number | null;
  /** null when the data set has no pixel masks. */
  aupro: number | null;
  /** Best F1 over all thresholds on the test set itself (an oracle number). */
  f1_max: number | null;
  average_precision: number | null;
  threshold: number;
  accuracy_at_threshold?: number;
  f1_at_threshold?: number;
  n_normal: number;
  n_anomalous: number;
  /** e.g. "256x256"; shown next to the pixel metrics. */
  evaluation_resolution?: string;
}

/** One scored test image. All per-pixel arrays are H·W, row-major, at the image's resolution. */
export interface TestReportImage {
  path: string;
  /** Ground truth: 0 normal, 1 anomalous. */
  label: 0 | 1;
  score: number;
  /** Score mapped so that the image threshold is 0.5. */
  normalizedScore: number;
  predictedLabel: 0 | 1;
  defectType?: string;
  /** The (preprocessed) input, planar C×H×W in [0, 1], 1 or 3 channels. */
  image: Image;
  /** Raw anomaly scores per pixel (the same units as `threshold.pixel`). */
  anomalyMap: Float32Array;
  /** Ground-truth mask (> 0.5 = anomalous), or null when the data set has none. */
  mask: ArrayLike<number> | null;
  /** The model's thresholded map (> 0.5 = anomalous), or null when there is no pixel threshold. */
  predictedMask: ArrayLike<number> | null;
}

/** One epoch of the validation curve a model was selected on (1-based epoch). */
export interface SelectionCurvePoint {
  epoch: number;
  imageAuroc: number;
  pixelAuroc: number | null;
  aupro: number | null;
}

/** How the model's epoch was chosen (the manifest's `selection`). */
export interface ReportSelection {
  /** `last`, `synthetic` or `labelled`. */
  criterion: string;
  selectedEpoch: number;
  /** The criterion's metric, or null for `last`. */
  metric: string | null;
  set: { source: string; normal: number; anomalous: number; defects: string[]; seed: number | null } | null;
  curve: SelectionCurvePoint[];
}

/** Everything the `test` command computed; the report module only renders it. */
export interface TestReportInput {
  title: string;
  /** ISO 8601 date-time. */
  createdAt: string;
  method: string;
  modelDir: string;
  dataset: { path: string; layout: string; category?: string };
  metrics: ReportMetrics;
  threshold: {
    /** Image-score threshold. */
    image: number;
    /** Pixel-score threshold of the anomaly maps, or null when the model has none. */
    pixel: number | null;
    /** How the image threshold was chosen, e.g. "99th percentile of 20 normal validation scores". */
    provenance: string;
    /** How the pixel threshold was chosen. */
    pixelProvenance?: string;
    /** The rule that made the image threshold, e.g. `f1-max-synthetic-validation`. */
    rule?: string;
    /** The rule that made the pixel threshold. */
    pixelRule?: string;
  };
  /** How the model's epoch was chosen (absent for models from before issue 22). */
  selection?: ReportSelection;
  roc: { fpr: number[]; tpr: number[] };
  images: TestReportImage[];
  config: unknown;
  notes: string[];
}

/** Value range of raw map scores mapped onto the colour scale (lo → 0, hi → 1, clipped). */
export interface MapRange {
  lo: number;
  hi: number;
}

/** A metric row of the page; `value: null` renders as "n/a" followed by the `note` (the reason). */
export interface ReportMetric {
  name: string;
  value: number | null;
  /** Why the value is missing, or a caveat (e.g. "oracle threshold on the test set"). */
  note?: string;
}

/** A grid tile of the page. */
export interface ReportTile {
  path: string;
  label: 0 | 1;
  predictedLabel: 0 | 1;
  defectType?: string;
  score: number;
  normalizedScore: number;
  /** PNG data URI of the overlay panel (original | overlay with contours). */
  panel: string;
}

/** The rendered page model: everything `renderReport` needs, images already encoded. */
export interface ReportInput {
  title: string;
  createdAt: string;
  method: string;
  modelDir: string;
  data: { path: string; layout: string; category?: string };
  metrics: ReportMetric[];
  threshold: { value: number; provenance: string; rule?: string };
  pixelThreshold: { value: number | null; provenance: string; rule?: string };
  selection?: ReportSelection;
  roc: { fpr: number[]; tpr: number[] };
  scores: { normal: number[]; anomalous: number[] };
  tiles: ReportTile[];
  /** Images not shown in the grid (the grid is capped). */
  hiddenTiles: number;
  /** Folder holding every overlay PNG, mentioned under the grid. */
  overlayFolder: string;
  /** The colour scale of the overlays: its ends in raw map units (null: maps were normalised) and how it was set. */
  mapScale?: { range: MapRange | null; description: string };
  config: unknown;
  notes: string[];
}
