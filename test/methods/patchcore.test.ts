/**
 * PatchCore mechanisms (issue 25), on tiny inputs: the greedy k-center coreset covers a seeded cloud
 * no worse than random subsets of the same size and, without projection, equals an exact k-center
 * greedy written from its definition; the chunked MatMul nearest-neighbour graph (run in ONNX
 * Runtime) equals a brute-force float64 search, index included; locally aware aggregation equals a
 * hand-computed 3×3 average at border pixels; the streamed store halves every image to a prefix of
 * its own greedy order; an image identical to a training image scores ≈ 0 everywhere while others do
 * not; the eq. 7 re-weighting equals the formula computed by hand; configuration and epochs limit.
 */
import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/index.js";
import { compileFunction, ModuleGroup } from "../../src/engine/index.js";
import { PatchCandidates } from "../../src/methods/patchcore/candidates.js";
import { imageSizeProblem, patchcoreConfigSchema } from "../../src/methods/patchcore/config.js";
import { patchcoreMethod } from "../../src/methods/patchcore/index.js";
import { PatchCoreNetworks } from "../../src/methods/patchcore/network.js";
import { parseMethodConfig } from "../../src/methods/registry.js";
import { kCenterGreedy, locallyAware, nearestNeighbour } from "../../src/nn/index.js";
import { Random } from "../../src/util/random.js";
import { randomValues } from "../nn/helpers.js";

/**
 * A seeded cloud of `count` points: eight clusters of very unequal weight (60 % down to 1 %) in a
 * 4-d latent space, embedded linearly in `dim` dimensions (patch features are similarly structured).
 */
function cloud(seed: number, count: number, dim: number): Float32Array {
  const r = new Random(seed);
  const latent = 4;
  const centres = Array.from({ length: 8 }, () => Array.from({ length: latent }, () => r.range(-10, 10)));
  const weights = [0.6, 0.2, 0.1, 0.04, 0.03, 0.01, 0.01, 0.01];
  const embed = Array.from({ length: latent * dim }, () => r.normal() / Math.sqrt(latent));
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    let u = r.uniform();
    let c = 0;
    while (c < 7 && u > weights[c]) u -= weights[c++];
    const z = centres[c].map((v) => v + r.normal());
    for (let k = 0; k < dim; k++)
      for (let l = 0; l < latent; l++) out[i * dim + k] += z[l] * embed[l * dim + k];
  }
  return out;
}

const distance = (p: Float32Array, dim: number, i: number, j: number) => {
  let s = 0;
  for (let k = 0; k < dim; k++) s += (p[i * dim + k] - p[j * dim + k]) ** 2;
  return Math.sqrt(s);
};

/** Largest distance of a point to its nearest chosen point. */
function coveringRadius(p: Float32Array, count: number, dim: number, chosen: ArrayLike<number>): number {
  let radius = 0;
  for (let i = 0; i < count; i++) {
    let nearest = Number.POSITIVE_INFINITY;
    for (let j = 0; j < chosen.length; j++) nearest = Math.min(nearest, distance(p, dim, i, chosen[j]));
    radius = Math.max(radius, nearest);
  }
  return radius;
}

/** Exact k-center greedy from its definition: recompute every point's distance to the chosen set. */
function exactGreedy(p: Float32Array, count: number, dim: number, size: number, start: number): number[] {
  const chosen = [start];
  while (chosen.length < size) {
    let best = -1;
    let at = -1;
    for (let i = 0; i < count; i++) {
      const d = Math.min(...chosen.map((c) => distance(p, dim, i, c)));
      if (d > best) [best, at] = [d, i];
    }
    chosen.push(at);
  }
  return chosen;
}

describe("greedy k-center coreset", () => {
  it("covers a seeded cloud no worse than any of 20 random subsets of the same size (projected distances)", () => {
    const [count, dim, size] = [600, 64, 30];
    const points = cloud(1, count, dim);
    const chosen = kCenterGreedy(points, count, dim, size, { random: new Random(2), projectionDim: 16 });
    expect(new Set(chosen).size).toBe(size);
    const greedy = coveringRadius(points, count, dim, chosen);
    const r = new Random(3);
    for (let trial = 0; trial < 20; trial++) {
      const order = Array.from({ length: count }, (_, i) => i);
      for (let i = count - 1; i > 0; i--) {
        const j = r.int(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      expect(greedy).toBeLessThanOrEqual(coveringRadius(points, count, dim, order.slice(0, size)));
    }
  });

  it("equals the exact k-center greedy on a small cloud without projection", () => {
    const [count, dim, size] = [60, 5, 12];
    const points = cloud(4, count, dim);
    const start = new Random(7).int(count);
    const chosen = kCenterGreedy(points, count, dim, size, { random: new Random(7), projectionDim: null });
    expect([...chosen]).toEqual(exactGreedy(points, count, dim, size, start));
  });
});

describe("greedy k-center coreset on duplicate rows", () => {
  it("stops once every row coincides with a chosen one instead of repeating rows", () => {
    const dim = 3;
    const distinct = [0, 0, 0, 1, 2, 3, 5, 5, 5];
    const points = new Float32Array(12 * dim);
    for (let i = 0; i < 12; i++) points.set(distinct.slice((i % 3) * dim, ((i % 3) + 1) * dim), i * dim);
    const chosen = kCenterGreedy(points, 12, dim, 6, { random: new Random(1), projectionDim: null });
    expect(chosen).toHaveLength(3);
    expect(new Set([...chosen].map((i) => i % 3)).size).toBe(3);
  });
});

describe("nearest-neighbour graph", () => {
  it("equals a brute-force float64 search (distance and index) with the bank in uneven chunks", async () => {
    const [q, m, d] = [37, 53, 6];
    const queries = randomValues(11, q * d);
    const bank = randomValues(12, m * d);
    const fn = await compileFunction({
      modules: [new ModuleGroup({})],
      inputs: { queries: { shape: [q, d] }, bank: { shape: [m, d], batched: false } },
      build: ({ queries: x, bank: b }) => {
        const nn = nearestNeighbour(x, b, { chunkRows: 10, withIndex: true });
        return { distance: nn.distance, index: T.cast(nn.index!, "float32") };
      },
    });
    const out = await fn.run({ queries, bank });
    await fn.release();
    for (let i = 0; i < q; i++) {
      let best = Number.POSITIVE_INFINITY;
      let at = -1;
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += (queries[i * d + k] - bank[j * d + k]) ** 2;
        if (s < best) [best, at] = [s, j];
      }
      expect(Math.abs((out.distance as Float32Array)[i] - Math.sqrt(best))).toBeLessThan(1e-5);
      expect((out.index as Float32Array)[i]).toBe(at);
    }
  });
});

describe("locally aware aggregation", () => {
  it("is the 3×3 neighbourhood sum over 9 at a corner and an edge (zero padding counted)", async () => {
    const [h, w] = [4, 5];
    const x = randomValues(21, 2 * h * w);
    const fn = await compileFunction({
      modules: [new ModuleGroup({})],
      inputs: { x: { shape: [1, 2, h, w] } },
      build: ({ x: input }) => ({ y: locallyAware(input, 3) }),
    });
    const y = (await fn.run({ x })).y as Float32Array;
    await fn.release();
    const at = (c: number, i: number, j: number) => x[c * h * w + i * w + j];
    const corner = (at(1, 0, 0) + at(1, 0, 1) + at(1, 1, 0) + at(1, 1, 1)) / 9;
    expect(y[h * w]).toBeCloseTo(corner, 6);
    let edge = 0;
    for (const i of [0, 1]) for (const j of [1, 2, 3]) edge += at(0, i, j);
    expect(y[2]).toBeCloseTo(edge / 9, 6);
  });
});

describe("streamed patch store", () => {
  it("halves every image to a prefix of its own greedy order when the next image would exceed the capacity", () => {
    const [dim, patches] = [4, 16];
    const store = new PatchCandidates(dim, patches, 40, null);
    const images = [cloud(30, patches, dim), cloud(31, patches, dim), cloud(32, patches, dim)];
    store.add(images[0], 1, new Random(1));
    store.add(images[1], 1, new Random(1));
    expect(store.rowsPerImage).toBe(16);
    store.add(images[2], 1, new Random(5));
    expect([store.images, store.rowsPerImage, store.rowCount]).toEqual([3, 8, 24]);
    const rows = store.rows();
    // The halving orders the stored images first, with the generator given with the third image.
    const order = kCenterGreedy(images[0], patches, dim, 8, { random: new Random(5), projectionDim: null });
    const first = rows.subarray(0, 8 * dim);
    order.forEach((r, j) => {
      expect([...first.subarray(j * dim, (j + 1) * dim)]).toEqual([
        ...images[0].subarray(r * dim, (r + 1) * dim),
      ]);
    });
  });
});

describe("PatchCore scoring", () => {
  const SIZE = 32;
  const images = (seed: number, n: number) =>
    Float32Array.from(randomValues(seed, n * 3 * SIZE * SIZE), (v) => (v + 1) / 2);
  const context = { epoch: 0, epochs: 1, iteration: 0, random: new Random(1) };

  async function fitted(config: object) {
    const c = patchcoreConfigSchema.parse(config);
    const instance = patchcoreMethod.create(c, { imageSize: SIZE, channels: 3, random: new Random(0) });
    await instance.trainBatch(images(1, 2), 2, context);
    const report = await instance.endEpoch!(0, 1);
    const group = new ModuleGroup(instance.modules).eval();
    const score = await compileFunction({
      modules: [group],
      inputs: { images: { shape: [1, 3, SIZE, SIZE] } },
      build: ({ images: x }) => {
        const out = instance.buildInference(x);
        return { map: out.map, score: out.imageScore! };
      },
    });
    return { instance, report, score };
  }

  it("gives ≈ 0 at every patch of a training image and clearly more for an unseen image (coreset 100 %)", async () => {
    const { instance, report, score } = await fitted({ coresetRatio: 1 });
    expect(report).toMatchObject({ images: 2, candidates: 2 * 16, bank_size: 32 });
    const train = images(1, 2);
    const seen = await score.run({ images: train.subarray(3 * SIZE * SIZE) });
    const unseen = await score.run({ images: images(2, 1) });
    const unseenMap = unseen.map as Float32Array;
    const typical = unseenMap.reduce((a, b) => a + b, 0) / unseenMap.length;
    expect(typical).toBeGreaterThan(1);
    for (const v of seen.map as Float32Array) expect(v).toBeLessThan(1e-2 * typical);
    expect(seen.map as Float32Array).toHaveLength(16);
    await score.release();
    await instance.dispose();
  });

  it("with b > 1 re-weights the largest patch distance by 1 − softmax of its distances to N_b(m*) (eq. 7)", async () => {
    const b = 3;
    const { instance, score } = await fitted({ coresetRatio: 0.5, reweightNeighbours: b });
    const plain = await fitted({ coresetRatio: 0.5 });
    const x = images(3, 1);
    const weighted = (await score.run({ images: x })).score as Float32Array;
    const largest = (await plain.score.run({ images: x })).score as Float32Array;
    // By hand: the worst patch's feature, its nearest bank row and that row's b nearest rows.
    const bank = instance.modules.bank.namedState()[0][1];
    const [m, d] = bank.shape;
    const networks = new PatchCoreNetworks(patchcoreConfigSchema.parse({}), SIZE);
    const rows = await compileFunction({
      modules: [networks.backbone],
      inputs: { images: { shape: [1, 3, SIZE, SIZE] } },
      build: ({ images: input }) => ({ rows: networks.patchRows(input) }),
    });
    const features = (await rows.run({ images: x })).rows as Float32Array;
    await rows.release();
    const dist = (a: ArrayLike<number>, j: number) => {
      let s = 0;
      for (let k = 0; k < d; k++) s += (a[k] - bank.value[j * d + k]) ** 2;
      return Math.sqrt(s);
    };
    let worst = -1;
    let worstDistance = -1;
    let worstNearest = -1;
    for (let p = 0; p < features.length / d; p++) {
      const f = features.subarray(p * d, (p + 1) * d);
      let nearest = 0;
      for (let j = 1; j < m; j++) if (dist(f, j) < dist(f, nearest)) nearest = j;
      if (dist(f, nearest) > worstDistance)
        [worst, worstDistance, worstNearest] = [p, dist(f, nearest), nearest];
    }
    const mStar = bank.value.subarray(worstNearest * d, (worstNearest + 1) * d);
    const support = Array.from({ length: m }, (_, j) => j)
      .sort((a, c) => dist(mStar, a) - dist(mStar, c))
      .slice(0, b);
    const f = features.subarray(worst * d, (worst + 1) * d);
    const e = support.map((j) => Math.exp(dist(f, j)));
    const expected = (1 - e[0] / e.reduce((a, c) => a + c, 0)) * worstDistance;
    expect(largest[0]).toBeCloseTo(worstDistance, 3);
    expect(weighted[0]).toBeCloseTo(expected, 3);
    expect(weighted[0]).toBeLessThan(largest[0]);
    await score.release();
    await plain.score.release();
    await instance.dispose();
    await plain.instance.dispose();
  });
});

describe("PatchCore configuration", () => {
  it("is strict, defaults to MobileNet taps at strides 8 and 16, coreset 10 %, and one epoch", () => {
    const c = patchcoreConfigSchema.parse({});
    expect([c.backbone, c.taps, c.coresetRatio, c.projectionDim, c.smoothingSigma]).toEqual([
      "mobilenet_v1_0.75",
      [1, 2],
      0.1,
      128,
      4,
    ]);
    expect(() => parseMethodConfig(patchcoreMethod, { ratio: 0.1 })).toThrow(/unknown key "ratio"/);
    expect(() => parseMethodConfig(patchcoreMethod, { taps: [2, 1] })).toThrow(/increasing/);
    expect(imageSizeProblem(c, 40)).toMatch(/multiple of 16/);
    expect(imageSizeProblem(c, 48)).toBeUndefined();
    expect(patchcoreMethod.maxEpochs?.epochs).toBe(1);
  });
});
