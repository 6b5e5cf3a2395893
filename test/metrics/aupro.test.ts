import { describe, expect, it } from "vitest";
import { OptionError } from "../../src/errors.js";
import { aupro, labelComponents8, type PixelGrid, proCurve } from "../../src/metrics/index.js";
import { Random } from "../../src/util/random.js";

function grid(width: number, height: number, values: number[]): PixelGrid {
  return { width, height, data: Float64Array.from(values) };
}

/** Independent 8-connected labelling for the reference: union-find over neighbouring mask pixels. */
function referenceRegions(mask: PixelGrid): number[][] {
  const parent = Array.from({ length: mask.data.length }, (_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const inside = (x: number, y: number) =>
    x >= 0 && y >= 0 && x < mask.width && y < mask.height && mask.data[y * mask.width + x] > 0.5;
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (!inside(x, y)) continue;
      for (const [dx, dy] of [
        [1, 0],
        [-1, 1],
        [0, 1],
        [1, 1],
      ]) {
        if (inside(x + dx, y + dy)) parent[find((y + dy) * mask.width + x + dx)] = find(y * mask.width + x);
      }
    }
  }
  const regions = new Map<number, number[]>();
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i] <= 0.5) continue;
    const root = find(i);
    regions.set(root, [...(regions.get(root) ?? []), i]);
  }
  return [...regions.values()];
}

/**
 * Brute-force AUPRO written from §8.1 literally: for every t in {distinct scores} ∪ {−∞}, FPR(t) and
 * PRO(t) count pixels with score > t; points sorted by decreasing t start at (0, 0) (t = max score) and end
 * at (1, 1) (t = −∞); trapezoids up to fprLimit, the crossing segment interpolated; divided by fprLimit.
 */
function bruteForceAupro(maps: PixelGrid[], masks: (PixelGrid | null)[], fprLimit: number): number | null {
  const regions = masks.flatMap((mask, image) =>
    mask === null ? [] : referenceRegions(mask).map((pixels) => ({ image, pixels })),
  );
  if (regions.length === 0) return null;
  const negatives: number[] = [];
  maps.forEach((map, image) => {
    const inRegion = new Set(regions.filter((r) => r.image === image).flatMap((r) => r.pixels));
    for (let i = 0; i < map.data.length; i++) if (!inRegion.has(i)) negatives.push(map.data[i]);
  });
  const thresholds = [...new Set(maps.flatMap((map) => Array.from(map.data))), Number.NEGATIVE_INFINITY].sort(
    (a, b) => b - a,
  );
  const points = thresholds.map((t) => {
    const fpr = negatives.filter((s) => s > t).length / negatives.length;
    const overlaps = regions.map(
      (r) => r.pixels.filter((i) => maps[r.image].data[i] > t).length / r.pixels.length,
    );
    return [fpr, overlaps.reduce((a, b) => a + b, 0) / regions.length];
  });
  let area = 0;
  for (let k = 1; k < points.length; k++) {
    const [x0, y0] = points[k - 1];
    const [x1, y1] = points[k];
    if (x1 <= fprLimit) {
      area += 0.5 * (x1 - x0) * (y0 + y1);
      continue;
    }
    const yCut = y0 + ((y1 - y0) * (fprLimit - x0)) / (x1 - x0);
    area += 0.5 * (fprLimit - x0) * (y0 + yCut);
    break;
  }
  return area / fprLimit;
}

describe("labelComponents8", () => {
  it("joins diagonal neighbours into one component (a 4-connected labeller would give two)", () => {
    // 1 0 0 0
    // 0 1 0 0
    // 0 0 0 0
    // 0 0 0 1
    const mask = grid(4, 4, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const result = labelComponents8(mask);
    expect(result.count).toBe(2);
    expect(result.sizes).toEqual([2, 1]);
    expect(result.labels[0]).toBe(result.labels[5]);
    expect(result.labels[15]).toBe(1);
    expect(result.labels[1]).toBe(-1);
  });

  it("follows an anti-diagonal chain and treats 0/255 masks by value > 0.5", () => {
    const mask = grid(3, 3, [0, 0, 255, 0, 255, 0, 255, 0, 0.5]);
    const result = labelComponents8(mask);
    expect(result.count).toBe(1);
    expect(result.sizes).toEqual([3]);
  });
});

describe("aupro", () => {
  // Image A (3x2)      scores A          Image B (2x2)   scores B     Image C (2x1, good)
  // mask 1 1 0         0.9 0.5 0.5       mask 0 0        0.5 0.1      scores 0.9 0.1
  //      0 0 0         0.1 0.1 0.1            0 1        0.1 0.1
  // Regions: R1 = A's two top-left pixels (scores 0.9, 0.5), R2 = B's bottom-right pixel (score 0.1).
  // Negatives (9): 0.9 x1 (C), 0.5 x2 (A, B), 0.1 x6.
  // Curve (score >= t):  t=+inf (0, 0)
  //                      t=0.9  FPR 1/9, PRO (1/2 + 0)/2 = 1/4
  //                      t=0.5  FPR 3/9, PRO (1 + 0)/2   = 1/2
  //                      t=0.1  FPR 1,   PRO 1
  // fprLimit 0.3: segment 1 area ½·(1/9)·(1/4) = 1/72. Segment 2 crosses 0.3 at fraction
  // (0.3 − 1/9)/(3/9 − 1/9) = 0.85, PRO there 1/4 + 0.85·1/4 = 0.4625; area ½·(0.3 − 1/9)·(0.25 + 0.4625)
  // = 0.605625/9. Total (0.125 + 0.605625)/9 = 0.730625/9; AUPRO = 0.730625/2.7 = 0.2706018518...
  // fprLimit 1: 1/72 + ½·(2/9)·(3/4) + ½·(2/3)·(3/2) = 1/72 + 6/72 + 36/72 = 43/72.
  const maps = [
    grid(3, 2, [0.9, 0.5, 0.5, 0.1, 0.1, 0.1]),
    grid(2, 2, [0.5, 0.1, 0.1, 0.1]),
    grid(2, 1, [0.9, 0.1]),
  ];
  const masks = [grid(3, 2, [1, 1, 0, 0, 0, 0]), grid(2, 2, [0, 0, 0, 1]), null];

  it("matches the hand-computed curve and areas, with the cut interpolated", () => {
    expect(proCurve(maps, masks)).toEqual([
      { fpr: 0, pro: 0, threshold: Number.POSITIVE_INFINITY },
      { fpr: 1 / 9, pro: 0.25, threshold: 0.9 },
      { fpr: 3 / 9, pro: 0.5, threshold: 0.5 },
      { fpr: 1, pro: 1, threshold: 0.1 },
    ]);
    expect(aupro(maps, masks)).toBeCloseTo(0.730625 / 2.7, 14);
    expect(aupro(maps, masks, { fprLimit: 1 })).toBeCloseTo(43 / 72, 14);
    // Cut exactly at a curve point: (1/72 + 6/72) / (1/3) = 21/72.
    expect(aupro(maps, masks, { fprLimit: 1 / 3 })).toBeCloseTo(21 / 72, 14);
  });

  it("accepts Float32Array maps and computes in float64", () => {
    const float32Maps = maps.map((m) => ({ ...m, data: Float32Array.from(m.data) }));
    expect(aupro(float32Maps, masks)).toBeCloseTo(0.730625 / 2.7, 14);
  });

  it("averages over 8-connected regions: a diagonal pair is one region", () => {
    // 4x4 mask: diagonal pair (0,0),(1,1) = one region D of size 2 (scores 0.6, 0.6); (3,3) = region S
    // (score 0.9). Negatives: one at 0.8, one at 0.5, eleven at 0 (13).
    // 8-connected: t=0.9 (0, 1/2); t=0.8 (1/13, 1/2); t=0.6 (1/13, 1); t=0.5 (2/13, 1); t=0 (1, 1).
    // Area to FPR 1: ½·(1/13)·(1/2 + 1/2) + 12/13 = 12.5/13. (4-connected: 3 regions, 12⅓/13.)
    const scores = [0.6, 0.8, 0, 0, 0, 0.6, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0.9];
    const mask = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    expect(aupro([grid(4, 4, scores)], [grid(4, 4, mask)], { fprLimit: 1 })).toBeCloseTo(12.5 / 13, 14);
  });

  it("equals a brute-force loop over every threshold on random data with ties", () => {
    const random = new Random(7);
    for (let trial = 0; trial < 40; trial++) {
      const images = 1 + random.int(4);
      const maps: PixelGrid[] = [];
      const masks: (PixelGrid | null)[] = [];
      for (let i = 0; i < images; i++) {
        const width = 2 + random.int(7);
        const height = 2 + random.int(7);
        const mask = Array.from({ length: width * height }, () => (random.bernoulli(0.25) ? 1 : 0));
        const scores = mask.map((m) => Math.round((random.uniform() + 0.5 * m) * 6) / 6);
        maps.push(grid(width, height, scores));
        masks.push(random.bernoulli(0.2) ? null : grid(width, height, mask));
      }
      const fprLimit = [0.05, 0.3, 0.5, 1][random.int(4)];
      const expected = bruteForceAupro(maps, masks, fprLimit);
      const actual = aupro(maps, masks, { fprLimit });
      if (expected === null) expect(actual).toBeNull();
      else expect(Math.abs((actual ?? Number.NaN) - expected)).toBeLessThan(1e-12);
    }
  });

  it("returns null without anomalous regions and rejects invalid input", () => {
    const map = grid(2, 2, [0.1, 0.2, 0.3, 0.4]);
    expect(aupro([map], [null])).toBeNull();
    expect(aupro([map], [grid(2, 2, [0, 0, 0, 0.5])])).toBeNull();
    expect(() => aupro([map], [grid(2, 2, [1, 1, 1, 1])])).toThrow(OptionError);
    expect(() => aupro([map], [grid(2, 2, [1, 0, 0, 0])], { fprLimit: 0 })).toThrow(OptionError);
    expect(() => aupro([map], [grid(1, 4, [1, 0, 0, 0])])).toThrow(OptionError);
    expect(() => aupro([map], [])).toThrow(OptionError);
  });

  it("handles a realistic size quickly (sort once, sweep)", () => {
    const random = new Random(1);
    const size = 256;
    const maps: PixelGrid[] = [];
    const masks: PixelGrid[] = [];
    for (let i = 0; i < 30; i++) {
      const mask = new Float32Array(size * size);
      for (let y = 100; y < 140; y++) for (let x = 90 + i; x < 150; x++) mask[y * size + x] = 1;
      const scores = Float32Array.from(mask, (m) => random.uniform() + 0.3 * m);
      maps.push({ width: size, height: size, data: scores });
      masks.push({ width: size, height: size, data: mask });
    }
    const started = performance.now();
    const value = aupro(maps, masks);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(value).toBeGreaterThan(0);
    expect(value).toBeLessThan(1);
  });
});
