import { describe, expect, it } from "vitest";
import { OptionError } from "../../src/errors.js";
import {
  accuracyF1AtThreshold,
  averagePrecision,
  dice,
  diceAtThreshold,
  f1Max,
} from "../../src/metrics/index.js";

const scores = [0.9, 0.8, 0.7, 0.6, 0.5];
const labels = [1, 0, 1, 0, 1];

describe("averagePrecision", () => {
  it("sums recall steps times precision (sklearn's step-wise AP)", () => {
    // t=0.9: P=1, R=1/3 (+1/3·1); t=0.8: R unchanged; t=0.7: P=2/3, R=2/3 (+1/3·2/3);
    // t=0.6: R unchanged; t=0.5: P=3/5, R=1 (+1/3·3/5). AP = 1/3 + 2/9 + 1/5 = 34/45.
    expect(averagePrecision(scores, labels)).toBeCloseTo(34 / 45, 15);
  });

  it("treats tied scores as one threshold", () => {
    // scores 0.9(0) 0.5(1) 0.5(0) 0.1(1): t=0.9: R=0; t=0.5: P=1/3, R=1/2 (+1/6); t=0.1: P=1/2, R=1 (+1/4).
    expect(averagePrecision([0.9, 0.5, 0.5, 0.1], [0, 1, 0, 1])).toBeCloseTo(5 / 12, 15);
  });

  it("is 1 for a perfect ranking and throws without positives", () => {
    expect(averagePrecision(new Float32Array([0.9, 0.8, 0.1]), [1, 1, 0])).toBe(1);
    expect(() => averagePrecision([0.1, 0.2], [0, 0])).toThrow(OptionError);
  });
});

describe("f1Max", () => {
  it("finds the best threshold with score >= threshold predicted anomalous", () => {
    // F1 = 2TP / (TP + FP + P), P = 3: t=0.9: 2/4; 0.8: 2/5; 0.7: 4/6; 0.6: 4/7; 0.5: 6/8 (max).
    expect(f1Max(scores, labels)).toEqual({ f1: 0.75, threshold: 0.5, precision: 0.6, recall: 1 });
  });

  it("prefers the highest threshold among equal F1 values", () => {
    // labels 1 0 0 1, P = 2: t=0.9: 2/3; 0.8: 2/4; 0.7: 2/5; 0.6: 4/6 = 2/3 (tie) -> 0.9.
    expect(f1Max([0.9, 0.8, 0.7, 0.6], [1, 0, 0, 1])).toEqual({
      f1: 2 / 3,
      threshold: 0.9,
      precision: 1,
      recall: 0.5,
    });
  });

  it("throws without positives", () => {
    expect(() => f1Max([0.1, 0.2], [0, 0])).toThrow(OptionError);
  });
});

describe("accuracyF1AtThreshold", () => {
  it("includes scores equal to the threshold", () => {
    // Predicted 0.9, 0.8, 0.7: TP 2, FP 1, FN 1, TN 1.
    expect(accuracyF1AtThreshold(scores, labels, 0.7)).toEqual({
      accuracy: 0.6,
      f1: 2 / 3,
      precision: 2 / 3,
      recall: 2 / 3,
      tp: 2,
      fp: 1,
      tn: 1,
      fn: 1,
    });
  });

  it("uses 0 for ratios with a zero denominator", () => {
    expect(accuracyF1AtThreshold(scores, labels, 0.95)).toEqual({
      accuracy: 0.4,
      f1: 0,
      precision: 0,
      recall: 0,
      tp: 0,
      fp: 0,
      tn: 2,
      fn: 3,
    });
    expect(() => accuracyF1AtThreshold([], [], 0.5)).toThrow(OptionError);
    expect(() => accuracyF1AtThreshold(scores, labels, Number.NaN)).toThrow(OptionError);
  });
});

describe("dice", () => {
  it("is 2|A∩B| / (|A| + |B|), with masks as 0/1 or 0/255", () => {
    expect(dice([1, 1, 0, 0], [1, 0, 1, 0])).toBe(0.5);
    expect(dice(new Uint8Array([255, 255, 255, 0]), new Uint8Array([255, 0, 0, 0]))).toBe(0.5);
    expect(dice([1, 1], [1, 1])).toBe(1);
    expect(dice([1, 0], [0, 1])).toBe(0);
  });

  it("is 1 when both masks are empty and throws on a length mismatch", () => {
    expect(dice([0, 0, 0], [0, 0, 0])).toBe(1);
    expect(() => dice([0, 1], [0])).toThrow(OptionError);
  });
});

describe("diceAtThreshold", () => {
  it("pools pixels over images and also reports per-image values", () => {
    // Image 1: scores 0.9 0.6 0.2 0.1, mask 1 1 1 0; at t = 0.6 predicted 1 1 0 0 -> 2·2/(2+3) = 0.8.
    // Image 2 (good): scores 0.7 0.1, predicted 1 0 -> Dice 0 (nothing to find, one false pixel).
    // Pooled: intersection 2, predicted 3, actual 3 -> 4/6.
    const maps = [
      { width: 2, height: 2, data: [0.9, 0.6, 0.2, 0.1] },
      { width: 2, height: 1, data: [0.7, 0.1] },
    ];
    const masks = [{ width: 2, height: 2, data: [1, 1, 1, 0] }, null];
    const result = diceAtThreshold(maps, masks, 0.6);
    expect(result.pooled).toBeCloseTo(4 / 6, 15);
    expect(Array.from(result.perImage)).toEqual([0.8, 0]);
    expect(result.perImageMean).toBeCloseTo(0.4, 15);
    expect(Array.from(diceAtThreshold(maps, masks, 0.95).perImage)).toEqual([0, 1]);
  });
});
