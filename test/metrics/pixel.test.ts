import { describe, expect, it } from "vitest";
import { OptionError } from "../../src/errors.js";
import { imageAuroc, type PixelGrid, pixelAuroc } from "../../src/metrics/index.js";
import { Random } from "../../src/util/random.js";

/** Random test set: `images` maps of width x height, masks with a rectangle on every other image. */
function randomSet(random: Random, images: number, width: number, height: number, quantum: number) {
  const maps: PixelGrid[] = [];
  const masks: (PixelGrid | null)[] = [];
  for (let i = 0; i < images; i++) {
    const mask = new Float32Array(width * height);
    if (i % 2 === 1) {
      for (let y = 1; y < height / 2; y++)
        for (let x = 2; x < width / 2 + (i % 3); x++) mask[y * width + x] = 1;
    }
    const scores = Float32Array.from(mask, (m) => {
      const score = random.normal() + 1.2 * m;
      return quantum > 0 ? Math.round(score / quantum) * quantum : score;
    });
    maps.push({ width, height, data: scores });
    masks.push(i % 2 === 1 ? { width, height, data: mask } : null);
  }
  return { maps, masks };
}

function flatten(maps: PixelGrid[], masks: (PixelGrid | null)[]) {
  const scores: number[] = [];
  const labels: number[] = [];
  maps.forEach((map, i) => {
    for (let j = 0; j < map.data.length; j++) {
      scores.push(map.data[j]);
      labels.push((masks[i]?.data[j] ?? 0) > 0.5 ? 1 : 0);
    }
  });
  return { scores, labels };
}

describe("pixelAuroc", () => {
  it("is exact below the limit and equals imageAuroc of the flattened pixels", () => {
    const { maps, masks } = randomSet(new Random(5), 6, 17, 11, 0.25);
    const { scores, labels } = flatten(maps, masks);
    const result = pixelAuroc(maps, masks);
    expect(result.exact).toBe(true);
    expect(result.errorBound).toBe(0);
    expect(result.value).toBe(imageAuroc(scores, labels));
  });

  it("computes a hand case with a good image: (1 + 1 + ½ + 1 + 1 + 1) / 6 over 2 x 3 pairs", () => {
    // Image 1: scores 0.9, 0.4 with mask 1, 0; image 2 (good): scores 0.9, 0.1.
    // Positive 0.9 vs negatives 0.4, 0.9, 0.1 -> 1 + ½ + 1 = 2.5 of 3 pairs.
    const maps = [
      { width: 2, height: 1, data: [0.9, 0.4] },
      { width: 2, height: 1, data: [0.9, 0.1] },
    ];
    const masks = [{ width: 2, height: 1, data: new Uint8Array([255, 0]) }, null];
    expect(pixelAuroc(maps, masks)).toEqual({ value: 2.5 / 3, errorBound: 0, exact: true });
  });

  it("above the limit, the binned value lies within its error bound of the exact value", () => {
    const random = new Random(9);
    for (const [quantum, bins] of [
      [0, 65_536],
      [0, 16],
      [0.5, 65_536],
      [0.1, 7],
    ]) {
      const { maps, masks } = randomSet(random, 8, 40, 30, quantum);
      const exact = pixelAuroc(maps, masks).value;
      const binned = pixelAuroc(maps, masks, { exactLimit: 1000, bins });
      expect(binned.exact).toBe(false);
      expect(binned.errorBound).toBeGreaterThan(0);
      expect(Math.abs(binned.value - exact)).toBeLessThanOrEqual(binned.errorBound + 1e-15);
    }
  });

  it("has a small bound on continuous scores with the default 2^16 bins", () => {
    const { maps, masks } = randomSet(new Random(10), 10, 64, 64, 0);
    const exact = pixelAuroc(maps, masks).value;
    const binned = pixelAuroc(maps, masks, { exactLimit: 0 });
    expect(binned.errorBound).toBeLessThan(1e-3);
    expect(Math.abs(binned.value - exact)).toBeLessThanOrEqual(binned.errorBound);
  });

  it("gives 0.5 with bound 0.5 when every pixel is tied (one bin holds all pairs)", () => {
    const maps = [{ width: 2, height: 2, data: [0.3, 0.3, 0.3, 0.3] }];
    const masks = [{ width: 2, height: 2, data: [1, 0, 0, 0] }];
    expect(pixelAuroc(maps, masks, { exactLimit: 0 })).toEqual({ value: 0.5, errorBound: 0.5, exact: false });
  });

  it("throws OptionError on one class, size mismatch, NaN or bad options", () => {
    const map = { width: 2, height: 1, data: [0.1, 0.2] };
    expect(() => pixelAuroc([map], [null])).toThrow(OptionError);
    expect(() => pixelAuroc([map], [{ width: 1, height: 2, data: [1, 0] }])).toThrow(OptionError);
    expect(() => pixelAuroc([{ width: 2, height: 2, data: [0.1, 0.2] }], [null])).toThrow(OptionError);
    expect(() => pixelAuroc([{ ...map, data: [Number.NaN, 0] }], [{ ...map, data: [1, 0] }])).toThrow(
      OptionError,
    );
    expect(() => pixelAuroc([map], [{ ...map, data: [1, 0] }], { bins: 0 })).toThrow(OptionError);
  });
});
