/**
 * Input types and validation shared by every metric: scores are copied to float64 (§8.4 rule 2), labels
 * must be 0 (normal) or 1 (anomalous), maps and masks must agree in number and size. Every violation
 * throws an `OptionError` naming the argument.
 */
import { OptionError } from "../errors.js";

/** Any array of numbers: `number[]`, `Float32Array`, `Float64Array`, `Uint8Array`, ... */
export type NumericArray = ArrayLike<number>;

/**
 * One single-channel H x W grid (row-major, `data[y * width + x]`): an anomaly map or a ground-truth mask.
 * The project's `Image` type with one channel satisfies it.
 */
export interface PixelGrid {
  readonly data: NumericArray;
  readonly width: number;
  readonly height: number;
}

/** A mask value is anomalous when it is strictly greater than 0.5 (masks are 0/1 or 0/255). */
export function isAnomalousMaskValue(value: number): boolean {
  return value > 0.5;
}

/** Copies scores to float64 and rejects NaN. */
export function toFloat64Scores(scores: NumericArray, name: string): Float64Array {
  const result = Float64Array.from(scores);
  for (let i = 0; i < result.length; i++) {
    if (Number.isNaN(result[i])) throw new OptionError(`${name}: element ${i} is NaN`);
  }
  return result;
}

/** Checks that labels are 0/1 and as many as the scores; returns them as bytes. */
export function toBinaryLabels(labels: NumericArray, expectedLength: number, name = "labels"): Uint8Array {
  if (labels.length !== expectedLength) {
    throw new OptionError(`${name}: expected ${expectedLength} labels, got ${labels.length}`);
  }
  const result = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label !== 0 && label !== 1) {
      throw new OptionError(`${name}: element ${i} is ${label}; labels must be 0 (normal) or 1 (anomalous)`);
    }
    result[i] = label;
  }
  return result;
}

/** Scores and 0/1 labels of one ranking problem, validated, with the class sizes. */
export interface LabelledScores {
  scores: Float64Array;
  labels: Uint8Array;
  positives: number;
  negatives: number;
}

export function labelledScores(scores: NumericArray, labels: NumericArray): LabelledScores {
  const values = toFloat64Scores(scores, "scores");
  const binary = toBinaryLabels(labels, values.length);
  let positives = 0;
  for (let i = 0; i < binary.length; i++) positives += binary[i];
  return { scores: values, labels: binary, positives, negatives: binary.length - positives };
}

/** Throws unless both classes occur (needed by every ROC-based metric). */
export function requireBothClasses(positives: number, negatives: number, what: string): void {
  if (positives === 0 || negatives === 0) {
    throw new OptionError(
      `${what} is undefined with only one class: ${positives} anomalous and ${negatives} normal samples`,
    );
  }
}

/**
 * Checks maps against masks: same count, same sizes, `data.length === width * height`. A `null` mask
 * stands for an all-normal image.
 */
export function checkMapsAndMasks(maps: readonly PixelGrid[], masks: readonly (PixelGrid | null)[]): void {
  if (maps.length !== masks.length) {
    throw new OptionError(`maps/masks: ${maps.length} maps but ${masks.length} masks`);
  }
  for (let i = 0; i < maps.length; i++) {
    const map = maps[i];
    checkGrid(map, `maps[${i}]`);
    const mask = masks[i];
    if (mask === null) continue;
    checkGrid(mask, `masks[${i}]`);
    if (mask.width !== map.width || mask.height !== map.height) {
      throw new OptionError(
        `masks[${i}] is ${mask.width}x${mask.height} but maps[${i}] is ${map.width}x${map.height}`,
      );
    }
  }
}

function checkGrid(grid: PixelGrid, name: string): void {
  if (!Number.isInteger(grid.width) || !Number.isInteger(grid.height) || grid.width < 0 || grid.height < 0) {
    throw new OptionError(`${name}: invalid size ${grid.width}x${grid.height}`);
  }
  if (grid.data.length !== grid.width * grid.height) {
    throw new OptionError(
      `${name}: ${grid.data.length} values for ${grid.width}x${grid.height}; expected one channel`,
    );
  }
}
