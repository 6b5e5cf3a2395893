/**
 * Optimal-transport divergences between point clouds, traced into the graph (used by MAMA Net's
 * Wasserstein term, methods.md §5.3; reusable by any method):
 *
 * - `sinkhornDivergence`: the debiased Sinkhorn divergence S(x, y) = OT_ε(x, y) − ½·OT_ε(x, x) −
 *   ½·OT_ε(y, y) (Feydy et al., AISTATS 2019) between two uniformly weighted clouds, ground cost
 *   `costScale`·‖a − b‖², log-domain iterations unrolled in the graph with GeomLoss's averaged
 *   simultaneous updates f ← ½(f + T_b(g)), g ← ½(g + T_a(f)), T_b(g)_i = −ε·LSE_j(log b_j +
 *   (g_j − C_ij)/ε), and p ← ½(p + T(p)) for OT(x, x) and OT(y, y): the iteration is symmetric in x and
 *   y, so S(x, y) = S(y, x) and S(x, x) = 0 hold after any number of iterations, not only at
 *   convergence (no ε-scaling: a fixed ε and iteration count). The value is the dual ⟨a, f⟩ + ⟨b, g⟩ −
 *   ε·(⟨a ⊗ b, exp((f ⊕ g − C)/ε)⟩ − 1), which at convergence is OT_ε and whose last term measures how
 *   far the marginals are from being met.
 *   `gradient: "unrolled"` differentiates through every iteration (the exact gradient of the value
 *   computed); `"last-step"` runs the iterations on a detached cost and differentiates only the dual
 *   through C (the envelope-theorem gradient Σ_j π_ij·∇C_ij, exact at convergence, as GeomLoss does),
 *   which keeps no iterate for the backward pass.
 * - `wasserstein1d`: exact W₂² between equal-size 1-D samples per row (sort both, mean squared
 *   difference of the order statistics); the sort is a TopK whose gradient is a scatter.
 * - `slicedWasserstein`: the mean over given directions (normalised here) of the exact 1-D W₂² of the
 *   projected clouds.
 */
import type { Tensor } from "../engine/index.js";
import * as T from "../engine/index.js";

/** ‖x_i − y_j‖² [n, m] of rows x [n, d] and y [m, d]. */
export function squaredDistances(x: Tensor, y: Tensor): Tensor {
  const xx = T.sum(T.square(x), -1, true);
  const yy = T.reshape(T.sum(T.square(y), -1), [1, y.shape[0]]);
  return T.sub(T.add(xx, yy), T.mul(T.matMul(x, T.transpose(y, [1, 0])), 2));
}

export interface SinkhornOptions {
  /** Entropic regularisation ε (default 0.05). */
  epsilon?: number;
  /** Iterations of each OT problem (default 50). */
  iterations?: number;
  /** The ground cost is costScale·‖a − b‖² (default ½). */
  costScale?: number;
  /** "unrolled" (default) or "last-step" (see the file comment). */
  gradient?: "unrolled" | "last-step";
}

/**
 * Soft-min over columns: −ε·LSE_j(−log m + (h_j − C_ij)/ε), cost [n, m], potential h [m] → [n].
 */
function softMin(cost: Tensor, potential: Tensor, epsilon: number): Tensor {
  const m = cost.shape[1];
  const logits = T.div(T.sub(T.reshape(potential, [1, m]), cost), epsilon);
  return T.mul(T.sub(T.logSumExp(logits, -1), Math.log(m)), -epsilon);
}

/** The dual objective of uniform weights at potentials f [n], g [m]. */
function dual(cost: Tensor, f: Tensor, g: Tensor, epsilon: number): Tensor {
  const [n, m] = cost.shape;
  const exponent = T.div(T.sub(T.add(T.reshape(f, [n, 1]), T.reshape(g, [1, m])), cost), epsilon);
  const mass = T.mean(T.exp(exponent));
  return T.sub(T.add(T.mean(f), T.mean(g)), T.mul(T.sub(mass, 1), epsilon));
}

/** OT_ε between two clouds with a cost [n, m] (simultaneous averaged updates: symmetric in x and y). */
function transport(cost: Tensor, epsilon: number, iterations: number, lastStep: boolean): Tensor {
  const solve = lastStep ? T.stopGradient(cost) : cost;
  const solveT = T.transpose(solve, [1, 0]);
  let f = T.zeros([cost.shape[0]]);
  let g = T.zeros([cost.shape[1]]);
  for (let i = 0; i < iterations; i++) {
    const nextF = T.mul(T.add(f, softMin(solve, g, epsilon)), 0.5);
    g = T.mul(T.add(g, softMin(solveT, f, epsilon)), 0.5);
    f = nextF;
  }
  return lastStep ? dual(cost, T.stopGradient(f), T.stopGradient(g), epsilon) : dual(cost, f, g, epsilon);
}

/** OT_ε of a cloud with itself, cost [n, n] (averaged symmetric updates). */
function selfTransport(cost: Tensor, epsilon: number, iterations: number, lastStep: boolean): Tensor {
  const solve = lastStep ? T.stopGradient(cost) : cost;
  let p = T.zeros([cost.shape[0]]);
  for (let i = 0; i < iterations; i++) p = T.mul(T.add(p, softMin(solve, p, epsilon)), 0.5);
  const potential = lastStep ? T.stopGradient(p) : p;
  return dual(cost, potential, potential, epsilon);
}

/** Debiased Sinkhorn divergence between clouds x [n, d] and y [m, d] (scalar). */
export function sinkhornDivergence(x: Tensor, y: Tensor, options: SinkhornOptions = {}): Tensor {
  const epsilon = options.epsilon ?? 0.05;
  const iterations = options.iterations ?? 50;
  const scale = options.costScale ?? 0.5;
  const lastStep = (options.gradient ?? "unrolled") === "last-step";
  if (x.rank !== 2 || y.rank !== 2 || x.shape[1] !== y.shape[1])
    throw new Error(
      `sinkhornDivergence: expects clouds [n, d] and [m, d], got [${x.shape.join(", ")}] and [${y.shape.join(", ")}]`,
    );
  const cost = (a: Tensor, b: Tensor) => T.mul(squaredDistances(a, b), scale);
  const xy = transport(cost(x, y), epsilon, iterations, lastStep);
  const xx = selfTransport(cost(x, x), epsilon, iterations, lastStep);
  const yy = selfTransport(cost(y, y), epsilon, iterations, lastStep);
  return T.sub(xy, T.mul(T.add(xx, yy), 0.5));
}

/** Rows sorted in descending order (a TopK over the last axis). */
function sortedRows(x: Tensor): Tensor {
  return T.topK(x, x.shape[x.rank - 1], -1).values;
}

/** Exact W₂² between the equal-size 1-D samples in each row of a and b [..., n]: [...]. */
export function wasserstein1d(a: Tensor, b: Tensor): Tensor {
  if (a.shape.join() !== b.shape.join())
    throw new Error(
      `wasserstein1d: expects samples of the same shape, got [${a.shape.join(", ")}] and [${b.shape.join(", ")}]`,
    );
  return T.mean(T.square(T.sub(sortedRows(a), sortedRows(b))), -1);
}

/**
 * Sliced W₂² between equal-size clouds x, y [n, d] along directions [d, L] (normalised here, no
 * gradient): the mean over the L directions of the exact 1-D W₂² of the projections.
 */
export function slicedWasserstein(x: Tensor, y: Tensor, directions: Tensor): Tensor {
  const unit = T.stopGradient(T.div(directions, T.sqrt(T.sum(T.square(directions), 0, true))));
  const project = (cloud: Tensor) => T.transpose(T.matMul(cloud, unit), [1, 0]);
  return T.mean(wasserstein1d(project(x), project(y)));
}
