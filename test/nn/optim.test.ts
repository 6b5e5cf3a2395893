/**
 * Optimiser update rules against hand computations in float64: Adam (L2 weight decay, bias
 * correction), AdamW (decoupled decay), SGD (momentum, Nesterov, weight decay), global-norm
 * clipping, and the cosine schedule. Each case trains one tiny parameter w with loss Σ w·c, so the
 * gradient of step k is the fed vector c_k.
 */
import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/api.js";
import { Module, type Parameter } from "../../src/engine/module.js";
import { compileStep } from "../../src/engine/step.js";
import { Adam, AdamW, cosineLr, type Optimizer, SGD } from "../../src/nn/optim.js";

class Tiny extends Module {
  readonly w: Parameter;
  constructor(values: readonly number[]) {
    super();
    this.w = this.parameter("w", [values.length], Float32Array.from(values));
  }
  loss(c: T.Tensor): T.Tensor {
    return T.sum(T.mul(this.use(this.w), c));
  }
}

const start = [0.5, -1.25, 2];
const gradients = [
  [0.3, -0.2, 1.5],
  [-0.1, 0.4, 0.9],
  [0.25, 0.05, -2],
  [1, -1, 0.5],
];

/** Run the optimiser on Tiny for every gradient in `grads`; returns w after each step. */
async function engineRun(optimizer: Optimizer, grads: number[][], lrs?: number[]): Promise<number[][]> {
  const model = new Tiny(start);
  const step = await compileStep({
    name: "tiny",
    modules: [model],
    inputs: { c: { shape: [start.length] } },
    build: ({ c }) => ({ loss: model.loss(c) }),
    optimizer,
  });
  const trajectory: number[][] = [];
  for (const [k, g] of grads.entries()) {
    await step.run({ c: Float32Array.from(g) }, { lr: lrs?.[k] });
    trajectory.push(Array.from(model.w.value));
  }
  await step.release();
  return trajectory;
}

function expectClose(actual: number[][], expected: number[][], tolerance = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, k) => {
    row.forEach((v, i) => {
      const e = expected[k][i];
      expect(Math.abs(v - e), `step ${k + 1}, element ${i}: ${v} vs ${e}`).toBeLessThanOrEqual(
        tolerance * Math.max(1, Math.abs(e)),
      );
    });
  });
}

interface AdamSettings {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupled: boolean;
}

function handAdam(
  grads: number[][],
  { lr, beta1, beta2, eps, weightDecay, decoupled }: AdamSettings,
): number[][] {
  const w = [...start];
  const m = w.map(() => 0);
  const v = w.map(() => 0);
  return grads.map((g, k) => {
    const t = k + 1;
    for (let i = 0; i < w.length; i++) {
      let gi = g[i];
      if (decoupled) w[i] *= 1 - lr * weightDecay;
      else gi += weightDecay * w[i];
      m[i] = beta1 * m[i] + (1 - beta1) * gi;
      v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
      const mHat = m[i] / (1 - beta1 ** t);
      const vHat = v[i] / (1 - beta2 ** t);
      w[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
    return [...w];
  });
}

function handSGD(
  grads: number[][],
  {
    lr,
    momentum,
    weightDecay,
    nesterov,
  }: { lr: number; momentum: number; weightDecay: number; nesterov: boolean },
): number[][] {
  const w = [...start];
  const buffer: number[] = [];
  return grads.map((g, k) => {
    for (let i = 0; i < w.length; i++) {
      let d = g[i] + weightDecay * w[i];
      if (momentum) {
        buffer[i] = k === 0 ? d : momentum * buffer[i] + d;
        d = nesterov ? d + momentum * buffer[i] : buffer[i];
      }
      w[i] -= lr * d;
    }
    return [...w];
  });
}

describe("Adam", () => {
  it("matches PyTorch's update with bias correction over several steps", async () => {
    const actual = await engineRun(new Adam({ lr: 0.1 }), gradients);
    expectClose(
      actual,
      handAdam(gradients, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false }),
    );
  });

  it("adds L2 weight decay to the gradient, with custom betas and eps", async () => {
    const options = { lr: 0.05, betas: [0.8, 0.99] as const, eps: 1e-3, weightDecay: 0.1 };
    const actual = await engineRun(new Adam(options), gradients);
    expectClose(
      actual,
      handAdam(gradients, {
        lr: 0.05,
        beta1: 0.8,
        beta2: 0.99,
        eps: 1e-3,
        weightDecay: 0.1,
        decoupled: false,
      }),
    );
  });

  it("takes the learning rate of each run (schedules need no recompile)", async () => {
    const lrs = [0.1, 0.05, 0.02, 0.01];
    const actual = await engineRun(new Adam({ lr: 1 }), gradients, lrs);
    const w = [...start];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    const expected = gradients.map((g, k) => {
      for (let i = 0; i < 3; i++) {
        m[i] = 0.9 * m[i] + 0.1 * g[i];
        v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
        w[i] -= (lrs[k] * m[i]) / (1 - 0.9 ** (k + 1)) / (Math.sqrt(v[i] / (1 - 0.999 ** (k + 1))) + 1e-8);
      }
      return [...w];
    });
    expectClose(actual, expected);
  });
});

describe("AdamW", () => {
  it("decays the weights decoupled from the gradient (default 1e-2)", async () => {
    const actual = await engineRun(new AdamW({ lr: 0.1 }), gradients);
    expectClose(
      actual,
      handAdam(gradients, {
        lr: 0.1,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay: 0.01,
        decoupled: true,
      }),
    );
  });

  it("differs from Adam's L2 decay", async () => {
    const adam = await engineRun(new Adam({ lr: 0.1, weightDecay: 0.5 }), gradients);
    const adamw = await engineRun(new AdamW({ lr: 0.1, weightDecay: 0.5 }), gradients);
    expect(Math.abs(adam[3][0] - adamw[3][0])).toBeGreaterThan(1e-3);
  });
});

describe("SGD", () => {
  it("plain SGD with weight decay", async () => {
    const actual = await engineRun(new SGD({ lr: 0.1, weightDecay: 0.01 }), gradients);
    expectClose(actual, handSGD(gradients, { lr: 0.1, momentum: 0, weightDecay: 0.01, nesterov: false }));
  });

  it("momentum (first buffer = first gradient)", async () => {
    const actual = await engineRun(new SGD({ lr: 0.1, momentum: 0.9, weightDecay: 0.01 }), gradients);
    expectClose(actual, handSGD(gradients, { lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: false }));
  });

  it("Nesterov momentum", async () => {
    const actual = await engineRun(new SGD({ lr: 0.1, momentum: 0.9, nesterov: true }), gradients);
    expectClose(actual, handSGD(gradients, { lr: 0.1, momentum: 0.9, weightDecay: 0, nesterov: true }));
  });
});

describe("gradient clipping", () => {
  it("scales the gradients to the maximum global norm", async () => {
    const g = [3, 0, 4]; // norm 5
    const [clipped] = await engineRun(new SGD({ lr: 1, clipGradNorm: 1 }), [g]);
    const factor = 1 / (5 + 1e-6);
    expectClose([clipped], [start.map((w, i) => w - g[i] * factor)]);
  });

  it("leaves gradients below the maximum norm unchanged", async () => {
    const g = [0.3, 0, 0.4]; // norm 0.5
    const [unclipped] = await engineRun(new SGD({ lr: 1, clipGradNorm: 1 }), [g]);
    expectClose([unclipped], [start.map((w, i) => w - g[i])]);
  });

  it("clips before Adam's weight decay", async () => {
    const g = [30, 0, 40];
    const [actual] = await engineRun(new Adam({ lr: 0.1, weightDecay: 0.1, clipGradNorm: 2 }), [g]);
    const scaled = g.map((x) => (x * 2) / (50 + 1e-6));
    const expected = handAdam([scaled], {
      lr: 0.1,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0.1,
      decoupled: false,
    });
    expectClose([actual], expected);
  });
});

describe("cosine schedule", () => {
  it("follows η_min + (lr0 − η_min)(1 + cos(π e/T))/2", () => {
    expect(cosineLr(1e-3, 0, 100)).toBeCloseTo(1e-3, 15);
    expect(cosineLr(1e-3, 50, 100, 1e-5)).toBeCloseTo(1e-5 + (1e-3 - 1e-5) / 2, 15);
    expect(cosineLr(1e-3, 100, 100, 1e-5)).toBeCloseTo(1e-5, 15);
    expect(cosineLr(0.1, 25, 100)).toBeCloseTo((0.1 * (1 + Math.SQRT1_2)) / 2, 15);
  });
});
