/**
 * `predict`: score files, folders or globs with a trained model, streaming in batches (bounded
 * memory): one row per image (path, score, normalised score, label) as CSV or JSON, and a heat-map
 * overlay PNG per image. `out` is an output folder (util/output.ts): a non-empty one is replaced only
 * with `overwrite`.
 */
import { join } from "node:path";
import { preprocessImage } from "../data/preprocess.js";
import { readImage } from "../io/index.js";
import { overlayFileName, writeOverlay } from "../report/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import { openOutputFolder } from "../util/output.js";
import { expandInputs } from "./files.js";
import { loadModel } from "./model.js";

export interface PredictOptions {
  model: string;
  inputs: string[];
  out: string;
  format?: "csv" | "json";
  batchSize?: number;
  /** Replace the content of a non-empty `out`. */
  overwrite?: boolean;
  /** Memory limit in bytes (default: free memory). */
  maxMemory?: number;
  /** Called after each image (progress). */
  onImage?: (done: number, total: number) => void;
}

export interface PredictRow {
  path: string;
  score: number;
  normalized_score: number;
  label: "anomalous" | "normal";
  overlay: string;
}

export async function predictFiles(
  options: PredictOptions,
): Promise<{ rows: PredictRow[]; resultsFile: string }> {
  const files = await expandInputs(options.inputs);
  const out = await openOutputFolder(options.out, { overwrite: options.overwrite });
  let failed = true;
  try {
    const result = await predictInto(options, files);
    failed = false;
    return result;
  } finally {
    await out.release(failed);
  }
}

async function predictInto(
  options: PredictOptions,
  files: string[],
): Promise<{ rows: PredictRow[]; resultsFile: string }> {
  const batchSize = options.batchSize ?? 8;
  const model = await loadModel(options.model, { batchSize, maxMemory: options.maxMemory });
  const size = model.manifest.imageSize;
  const channels = model.manifest.channels;
  const rows: PredictRow[] = [];
  const usedNames = new Set<string>();
  try {
    for (let start = 0; start < files.length; start += batchSize) {
      const chunk = files.slice(start, start + batchSize);
      const images = await Promise.all(
        chunk.map(async (f) => preprocessImage(await readImage(f), { size, channels })),
      );
      const batch = new Float32Array(chunk.length * channels * size * size);
      images.forEach((img, i) => {
        batch.set(img.data, i * channels * size * size);
      });
      const predictions = await model.predictPreprocessed(batch, chunk.length);
      for (let i = 0; i < chunk.length; i++) {
        const p = predictions[i];
        const overlay = join(options.out, overlayFileName(chunk[i], usedNames));
        await writeOverlay(overlay, images[i], p.anomalyMap, p.mask);
        rows.push({
          path: chunk[i],
          score: p.score,
          normalized_score: p.normalizedScore,
          label: p.label ? "anomalous" : "normal",
          overlay,
        });
        options.onImage?.(rows.length, files.length);
      }
    }
  } finally {
    await model.close();
  }
  const format = options.format ?? "csv";
  const resultsFile = join(options.out, `predictions.${format}`);
  await writeFileAtomic(resultsFile, format === "json" ? `${JSON.stringify(rows, null, 2)}\n` : toCsv(rows));
  return { rows, resultsFile };
}

export function csvField(value: string | number): string {
  const s = String(value);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function toCsv(rows: PredictRow[]): string {
  const header = "path,score,normalized_score,label,overlay";
  return `${[header, ...rows.map((r) => [r.path, r.score, r.normalized_score, r.label, r.overlay].map(csvField).join(","))].join("\n")}\n`;
}
