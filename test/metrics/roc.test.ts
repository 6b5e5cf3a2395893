import { describe, expect, it } from "vitest";
import { OptionError } from "../../src/errors.js";
import { imageAuroc, rocCurve } from "../../src/metrics/index.js";
import { Random } from "../../src/util/random.js";

/** O(n²) reference: fraction of (positive, negative) pairs ordered correctly, ties counting ½. */
function pairwiseAuroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let won = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i] > scores[j]) won += 1;
      else if (scores[i] === scores[j]) won += 0.5;
    }
  }
  return won / pairs;
}

describe("imageAuroc", () => {
  it("is 0.75 when one of four positive–negative pairs is inverted", () => {
    // positives 0.8, 0.4; negatives 0.6, 0.2. Pairs: 0.8>0.6, 0.8>0.2, 0.4<0.6, 0.4>0.2 -> 3/4.
    expect(imageAuroc([0.8, 0.6, 0.4, 0.2], [1, 0, 1, 0])).toBe(0.75);
  });

  it("is 1 for a perfect ranking and 0 for an inverted one", () => {
    expect(imageAuroc([0.9, 0.8, 0.1, 0.2], [1, 1, 0, 0])).toBe(1);
    expect(imageAuroc([0.9, 0.8, 0.1, 0.2], [0, 0, 1, 1])).toBe(0);
  });

  it("is 0.5 when every score is tied", () => {
    expect(imageAuroc(new Float32Array([0.3, 0.3, 0.3, 0.3, 0.3]), [1, 0, 0, 1, 0])).toBe(0.5);
  });

  it("handles a single positive with a tie: (1 + 1 + ½ + 0) / 4", () => {
    expect(imageAuroc([0.5, 0.1, 0.2, 0.5, 0.9], [1, 0, 0, 0, 0])).toBe(0.625);
  });

  it("counts -0 and +0 as tied", () => {
    expect(imageAuroc([-0, 0], [1, 0])).toBe(0.5);
  });

  it("throws OptionError when a class is absent or the input is invalid", () => {
    expect(() => imageAuroc([0.1, 0.2], [1, 1])).toThrow(OptionError);
    expect(() => imageAuroc([0.1, 0.2], [0, 0])).toThrow(/only one class/);
    expect(() => imageAuroc([], [])).toThrow(OptionError);
    expect(() => imageAuroc([0.1, 0.2], [1])).toThrow(OptionError);
    expect(() => imageAuroc([0.1, 0.2], [1, 2])).toThrow(OptionError);
    expect(() => imageAuroc([0.1, Number.NaN], [1, 0])).toThrow(OptionError);
  });

  it("equals the O(n²) pairwise reference on random data with many ties", () => {
    const random = new Random(12);
    for (let trial = 0; trial < 20; trial++) {
      const n = 20 + random.int(300);
      const scores = new Float64Array(n);
      const labels = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        labels[i] = random.bernoulli(0.3) ? 1 : 0;
        scores[i] = Math.round((random.normal() + labels[i]) * 4) / 4;
      }
      labels[0] = 1;
      labels[1] = 0;
      expect(Math.abs(imageAuroc(scores, labels) - pairwiseAuroc(scores, labels))).toBeLessThan(1e-12);
    }
  });
});

describe("rocCurve", () => {
  it("has one point per distinct threshold from (0,0) to (1,1)", () => {
    const points = rocCurve([0.8, 0.6, 0.4, 0.4, 0.2], [1, 0, 1, 0, 0]);
    expect(points).toEqual([
      { fpr: 0, tpr: 0, threshold: Number.POSITIVE_INFINITY },
      { fpr: 0, tpr: 0.5, threshold: 0.8 },
      { fpr: 1 / 3, tpr: 0.5, threshold: 0.6 },
      { fpr: 2 / 3, tpr: 1, threshold: 0.4 },
      { fpr: 1, tpr: 1, threshold: 0.2 },
    ]);
  });

  it("has a trapezoid area equal to imageAuroc", () => {
    const random = new Random(3);
    const scores = Array.from({ length: 200 }, () => random.int(10));
    const labels = scores.map((s) => (random.uniform() < 0.2 + s / 20 ? 1 : 0));
    const points = rocCurve(scores, labels);
    let area = 0;
    for (let i = 1; i < points.length; i++) {
      area += 0.5 * (points[i].fpr - points[i - 1].fpr) * (points[i].tpr + points[i - 1].tpr);
    }
    expect(area).toBeCloseTo(imageAuroc(scores, labels), 12);
  });
});
