/** Threshold choice without test labels: percentile rule, F1-max on validation, never flag everything. */
import { describe, expect, it } from "vitest";
import { chooseThreshold, percentile } from "../../src/score/threshold.js";

describe("thresholds", () => {
  it("percentile interpolates linearly between order statistics (numpy default)", () => {
    expect(percentile([1, 2, 3, 4, 5], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([0, 10], 99)).toBeCloseTo(9.9, 12);
  });

  it("uses the 99th percentile of normal validation scores when validation has no anomalies", () => {
    const scores = Array.from({ length: 101 }, (_, i) => i);
    const choice = chooseThreshold(scores, new Array(101).fill(0), "image");
    expect(choice.rule).toBe("percentile-normal-validation");
    expect(choice.threshold).toBe(99);
    expect(choice.provenance).toBe("99th percentile of 101 normal validation images");
  });

  it("uses F1-max on validation when it has anomalies", () => {
    const choice = chooseThreshold([0.1, 0.2, 0.3, 0.8, 0.9], [0, 0, 0, 1, 1], "image");
    expect(choice.rule).toBe("f1-max-validation");
    expect(choice.threshold).toBe(0.8);
    expect(choice.provenance).toMatch(/F1-max on validation \(3 normal, 2 anomalous images; F1 1\.000\)/);
  });

  it("names synthetic anomalies in the rule and provenance of an F1-max threshold made with them", () => {
    const choice = chooseThreshold([0.1, 0.2, 0.3, 0.8, 0.9], [0, 0, 0, 1, 1], "pixel", 99, "synthetic");
    expect(choice.rule).toBe("f1-max-synthetic-validation");
    expect(choice.threshold).toBe(0.8);
    expect(choice.provenance).toBe(
      "F1-max on validation with synthetic anomalies (3 normal, 2 synthetic anomalous pixels; F1 1.000)",
    );
  });

  it("never returns a threshold that flags every validation image", () => {
    // Anomalies score lowest: F1-max would take the lowest score and flag everything.
    const scores = [0.1, 0.2, 0.5, 0.6, 0.7];
    const labels = [1, 1, 0, 0, 0];
    const choice = chooseThreshold(scores, labels, "image");
    expect(choice.rule).toBe("percentile-normal-validation");
    expect(choice.threshold).toBeGreaterThan(Math.min(...scores));
    expect(choice.provenance).toMatch(/would flag every image/);
    const constant = chooseThreshold([0.5, 0.5, 0.5], [0, 0, 0], "image");
    expect(constant.threshold).toBeGreaterThan(0.5);
  });
});
