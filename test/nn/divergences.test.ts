/**
 * Divergences (methods.md §5.3, §5.8): the debiased Sinkhorn divergence of a cloud with itself is ≈ 0,
 * it is symmetric and positive between different clouds, its unrolled gradient equals central finite
 * differences in float64 (engine harness `vjpMatches`), and the last-step (envelope) gradient equals them
 * at convergence; the exact 1-D W₂² and the sliced W₂² match closed forms for Gaussians.
 */
import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/index.js";
import { sinkhornDivergence, slicedWasserstein, wasserstein1d } from "../../src/nn/index.js";
import { Random } from "../../src/util/random.js";
import { randn, vjpMatches } from "../engine/helpers.js";

function evaluate(
  shapes: Record<string, number[]>,
  feeds: Record<string, ArrayLike<number>>,
  build: (t: Record<string, T.Tensor>) => T.Tensor,
): number[] {
  const { graph, result } = T.trace(() => {
    const inputs = Object.fromEntries(Object.entries(shapes).map(([n, s]) => [n, T.input(n, s)]));
    return build(inputs);
  });
  return Array.from(T.evaluateReference(graph, feeds, [result])[0].data);
}

function gaussian(seed: number, count: number, mean = 0, std = 1): number[] {
  const rng = new Random(seed);
  return Array.from({ length: count }, () => mean + std * rng.normal());
}

const sinkhorn = (x: number[], y: number[], n: number, d: number, options = {}) =>
  evaluate({ x: [n, d], y: [n, d] }, { x, y }, ({ x, y }) => sinkhornDivergence(x, y, options))[0];

describe("debiased Sinkhorn divergence", () => {
  const n = 30;
  const d = 4;
  const x = gaussian(1, n * d);
  const y = gaussian(2, n * d, 0.7, 1.5);

  it("is ≈ 0 for a cloud with itself, symmetric, and positive for different clouds", () => {
    const between = sinkhorn(x, y, n, d);
    expect(between).toBeGreaterThan(0.1);
    expect(Math.abs(sinkhorn(x, x, n, d))).toBeLessThan(1e-9 * between);
    expect(Math.abs(sinkhorn(y, x, n, d) - between)).toBeLessThan(1e-9 * between);
  });

  it("grows with the distance between the clouds", () => {
    const shifted = (s: number) => x.map((v, i) => (i % d === 0 ? v + s : v));
    const values = [0.5, 1, 2].map((s) => sinkhorn(x, shifted(s), n, d));
    expect(values[0]).toBeLessThan(values[1]);
    expect(values[1]).toBeLessThan(values[2]);
  });

  it("its unrolled gradient equals central finite differences in float64", () => {
    vjpMatches([randn(3, [5, 3]), randn(4, [5, 3], 1.3)], (a, b) => sinkhornDivergence(a, b), {
      tol: 1e-6,
    });
  });

  it("its last-step (envelope) gradient equals finite differences at convergence", () => {
    vjpMatches(
      [randn(5, [5, 3]), randn(6, [5, 3], 1.3)],
      (a, b) => sinkhornDivergence(a, b, { epsilon: 1, iterations: 200, gradient: "last-step" }),
      { tol: 1e-4 },
    );
  });
});

describe("exact 1-D and sliced W₂²", () => {
  it("1-D W₂² pairs order statistics: an increasing affine map gives mean((a − b)²) exactly", () => {
    const a = gaussian(7, 50);
    const b = a.map((v) => 2 * v + 0.5);
    const shuffled = new Random(8).shuffle(b.slice());
    const got = evaluate({ a: [1, 50], b: [1, 50] }, { a, b: shuffled }, ({ a, b }) =>
      wasserstein1d(a, b),
    )[0];
    const expected = a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / 50;
    expect(Math.abs(got - expected)).toBeLessThan(1e-12);
  });

  it("1-D W₂² between two Gaussian samples ≈ (μ₁ − μ₂)² + (σ₁ − σ₂)²", () => {
    const count = 4000;
    const a = gaussian(9, count, 1, 1);
    const b = gaussian(10, count, -0.5, 2);
    const got = evaluate({ a: [1, count], b: [1, count] }, { a, b }, ({ a, b }) => wasserstein1d(a, b))[0];
    expect(Math.abs(got - (1.5 ** 2 + 1))).toBeLessThan(0.08);
  });

  it("sliced W₂² between Gaussian clouds ≈ mean over directions of (θ·Δμ)² + (σ₁ − σ₂)²", () => {
    const count = 2000;
    const d = 3;
    const directions = 32;
    const x = gaussian(11, count * d, 0, 1);
    const mu = [1, -1, 0.5];
    const y = gaussian(12, count * d, 0, 0.5).map((v, i) => v + mu[i % d]);
    const theta = gaussian(13, d * directions);
    const got = evaluate(
      { x: [count, d], y: [count, d], t: [d, directions] },
      { x, y, t: theta },
      ({ x, y, t }) => slicedWasserstein(x, y, t),
    )[0];
    let expected = 0;
    for (let l = 0; l < directions; l++) {
      let norm = 0;
      let dot = 0;
      for (let j = 0; j < d; j++) {
        norm += theta[j * directions + l] ** 2;
        dot += theta[j * directions + l] * mu[j];
      }
      expected += dot ** 2 / norm / directions;
    }
    expected += 0.5 ** 2;
    expect(Math.abs(got - expected)).toBeLessThan(0.05);
  });
});
