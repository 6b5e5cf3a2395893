/**
 * Optimisers of training steps (docs/engine.md §3.4; applied on the host after each step graph run,
 * src/engine/optimizer.ts says why): Adam with PyTorch's semantics (classic L2 `weightDecay` added to
 * the gradient, bias correction with the step count), AdamW (decoupled decay), SGD with momentum
 * (optionally Nesterov), optional clipping of the global gradient norm, and the cosine learning-rate
 * schedule.
 *
 * An optimiser holds no arrays: the step passes each trainable parameter's values, gradient and state
 * arrays (`stateNames`, e.g. Adam's first and second moments), and the update changes values and
 * state in place in one pass per parameter. Written by hand: the rule is a few lines per optimiser and
 * a fused loop reads each array once. Arithmetic is in float64 and stored as float32 (PyTorch computes
 * the same expressions in float32, so results agree to float32 rounding); quantities of the step count
 * (bias corrections) are computed in float64, as PyTorch does with Python floats.
 */
import type { ParameterSlot, StepOptimizer } from "../engine/optimizer.js";

export type { ParameterSlot };

export interface ClipOptions {
  /** Clip the gradients' global L2 norm to this value before the update (PyTorch clip_grad_norm_). */
  clipGradNorm?: number;
}

/**
 * The factor that brings the global L2 norm of `grads` to at most `maxNorm` (PyTorch
 * `clip_grad_norm_`: min(1, maxNorm / (norm + 1e-6))).
 */
export function clipFactor(grads: readonly Float32Array[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: the maximum norm must be positive, got ${maxNorm}`);
  let squares = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) squares += g[i] * g[i];
  return Math.min(maxNorm / (Math.sqrt(squares) + 1e-6), 1);
}

export abstract class Optimizer implements StepOptimizer {
  /** Names of the per-parameter state arrays (zero-initialised, same size as the parameter). */
  abstract readonly stateNames: readonly string[];

  constructor(
    /** The default learning rate (a step may override it per run). */
    readonly lr: number,
    readonly clip: ClipOptions = {},
  ) {
    if (!(lr >= 0)) throw new Error(`learning rate must be non-negative, got ${lr}`);
    if (clip.clipGradNorm !== undefined && !(clip.clipGradNorm > 0))
      throw new Error(`clipGradNorm: the maximum norm must be positive, got ${clip.clipGradNorm}`);
  }

  /** The update rule; each gradient is to be multiplied by `gradScale` (clipping) before use. */
  protected abstract apply(
    slots: readonly ParameterSlot[],
    step: number,
    lr: number,
    gradScale: number,
  ): void;

  /** Update every slot in place, clipping the global gradient norm first if configured. */
  update(slots: readonly ParameterSlot[], step: number, lr: number): void {
    if (!(Number.isInteger(step) && step >= 1))
      throw new Error(`optimiser step must be 1, 2, ..., got ${step}`);
    const maxNorm = this.clip.clipGradNorm;
    const scale =
      maxNorm === undefined
        ? 1
        : clipFactor(
            slots.map((s) => s.grad),
            maxNorm,
          );
    this.apply(slots, step, lr, scale);
  }
}

export interface AdamOptions extends ClipOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
}

/** Shared Adam/AdamW maths: moments, bias correction, the parameter step. */
abstract class AdamBase extends Optimizer {
  readonly stateNames = ["exp_avg", "exp_avg_sq"] as const;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;

  constructor(options: AdamOptions, defaultWeightDecay: number) {
    super(options.lr ?? 1e-3, options);
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? defaultWeightDecay;
    for (const b of this.betas)
      if (!(b >= 0 && b < 1)) throw new Error(`Adam betas must be in [0, 1), got ${b}`);
  }

  /** L2 decay added to the gradient (Adam) and the factor the values are multiplied by first (AdamW). */
  protected abstract decay(lr: number): { l2: number; shrink: number };

  protected apply(slots: readonly ParameterSlot[], step: number, lr: number, gradScale: number): void {
    const [beta1, beta2] = this.betas;
    const stepSize = lr / (1 - beta1 ** step);
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
    const { l2, shrink } = this.decay(lr);
    const eps = this.eps;
    for (const { values, grad, state } of slots) {
      const [m, v] = state;
      for (let i = 0; i < values.length; i++) {
        const p = values[i];
        const g = grad[i] * gradScale + l2 * p;
        const nextM = beta1 * m[i] + (1 - beta1) * g;
        const nextV = beta2 * v[i] + (1 - beta2) * g * g;
        m[i] = nextM;
        v[i] = nextV;
        values[i] = p * shrink - (stepSize * m[i]) / (Math.sqrt(v[i]) / biasCorrection2Sqrt + eps);
      }
    }
  }
}

/** Adam (PyTorch `torch.optim.Adam`): `weightDecay` is L2 regularisation added to the gradient. */
export class Adam extends AdamBase {
  constructor(options: AdamOptions = {}) {
    super(options, 0);
  }

  protected decay(): { l2: number; shrink: number } {
    return { l2: this.weightDecay, shrink: 1 };
  }
}

/** AdamW (PyTorch `torch.optim.AdamW`): decoupled decay p ← p·(1 − lr·weightDecay), default 1e-2. */
export class AdamW extends AdamBase {
  constructor(options: AdamOptions = {}) {
    super(options, 1e-2);
  }

  protected decay(lr: number): { l2: number; shrink: number } {
    return { l2: 0, shrink: 1 - lr * this.weightDecay };
  }
}

export interface SGDOptions extends ClipOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/**
 * SGD (PyTorch `torch.optim.SGD`, dampening 0): g ← g + wd·p; b ← μ·b + g (b starts at zero, which
 * equals PyTorch's b₁ = g₁); p ← p − lr·(g + μ·b) with Nesterov, else p − lr·b.
 */
export class SGD extends Optimizer {
  readonly stateNames: readonly string[];
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(options: SGDOptions) {
    super(options.lr, options);
    this.momentum = options.momentum ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && this.momentum <= 0) throw new Error("SGD: Nesterov momentum requires momentum > 0");
    this.stateNames = this.momentum ? ["momentum_buffer"] : [];
  }

  protected apply(slots: readonly ParameterSlot[], _step: number, lr: number, gradScale: number): void {
    const { momentum, nesterov, weightDecay } = this;
    for (const { values, grad, state } of slots) {
      const buffer = state[0];
      for (let i = 0; i < values.length; i++) {
        const g = grad[i] * gradScale + weightDecay * values[i];
        if (!momentum) {
          values[i] -= lr * g;
          continue;
        }
        buffer[i] = momentum * buffer[i] + g;
        values[i] -= lr * (nesterov ? g + momentum * buffer[i] : buffer[i]);
      }
    }
  }
}

/**
 * Cosine annealing (PyTorch CosineAnnealingLR, per-epoch steps): the learning rate after `epoch`
 * scheduler steps out of `totalEpochs`, lr = ηmin + (lr0 − ηmin)·(1 + cos(π·epoch/totalEpochs))/2.
 */
export function cosineLr(lr0: number, epoch: number, totalEpochs: number, etaMin = 0): number {
  if (!(totalEpochs > 0)) throw new Error(`cosineLr: totalEpochs must be positive, got ${totalEpochs}`);
  return etaMin + ((lr0 - etaMin) * (1 + Math.cos((Math.PI * epoch) / totalEpochs))) / 2;
}
