/**
 * Optimisers that run inside the traced training graph (docs/engine.md §3.4): Adam with PyTorch's
 * semantics (classic L2 `weightDecay` added to the gradient, bias correction with the step count),
 * AdamW (decoupled decay), SGD with momentum (optionally Nesterov), optional clipping of the global
 * gradient norm, and the cosine learning-rate schedule computed on the host.
 *
 * An optimiser never holds tensors. Given each trainable parameter's tensor, its gradient and its
 * state tensors (graph inputs: one per name in `stateNames`, e.g. Adam's first and second moments), it
 * returns the updated parameter and state tensors. Everything that changes from step to step (the
 * learning rate and quantities derived from the step count, such as Adam's bias corrections) enters as
 * scalar graph inputs whose values `scalars(step, lr)` computes on the host in float64, as PyTorch does
 * with Python floats, so schedules and resuming need no recompilation.
 */
import * as T from "../engine/api.js";
import type { Tensor } from "../engine/ir.js";
import type { GraphOptimizer, ParameterSlot, SlotUpdate } from "../engine/optimizer.js";

export type { ParameterSlot, SlotUpdate };

export interface ClipOptions {
  /** Clip the gradients' global L2 norm to this value before the update (PyTorch clip_grad_norm_). */
  clipGradNorm?: number;
}

/**
 * Scale `grads` so their global L2 norm is at most `maxNorm` (PyTorch `clip_grad_norm_`: factor
 * min(1, maxNorm / (norm + 1e-6))).
 */
export function clipGradNorm(grads: readonly Tensor[], maxNorm: number): Tensor[] {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: the maximum norm must be positive, got ${maxNorm}`);
  if (grads.length === 0) return [];
  const squares = grads.map((g) => T.sum(T.square(g)));
  const total = T.sqrt(squares.reduce((a, b) => T.add(a, b)));
  const factor = T.minimum(T.div(maxNorm, T.add(total, 1e-6)), 1);
  return grads.map((g) => T.mul(g, factor));
}

export abstract class Optimizer implements GraphOptimizer {
  /** Names of the per-parameter state tensors (zero-initialised, same shape as the parameter). */
  abstract readonly stateNames: readonly string[];
  /** Names of the scalar graph inputs this optimiser reads. */
  abstract readonly scalarNames: readonly string[];

  constructor(
    /** The default learning rate (a step may override it per run). */
    readonly lr: number,
    readonly clip: ClipOptions = {},
  ) {
    if (!(lr >= 0)) throw new Error(`learning rate must be non-negative, got ${lr}`);
  }

  /** Values of the scalar inputs for update number `step` (1-based) at learning rate `lr`. */
  abstract scalars(step: number, lr: number): Record<string, number>;

  /** The update rule for already clipped gradients. */
  protected abstract apply(slots: readonly ParameterSlot[], scalars: Record<string, Tensor>): SlotUpdate[];

  /** Updated parameters and state for all slots, clipping the global gradient norm if configured. */
  update(slots: readonly ParameterSlot[], scalars: Record<string, Tensor>): SlotUpdate[] {
    for (const name of this.scalarNames)
      if (!scalars[name]) throw new Error(`optimiser scalar input "${name}" is missing`);
    const maxNorm = this.clip.clipGradNorm;
    if (maxNorm === undefined) return this.apply(slots, scalars);
    const clipped = clipGradNorm(
      slots.map((s) => s.grad),
      maxNorm,
    );
    return this.apply(
      slots.map((s, i) => ({ ...s, grad: clipped[i] })),
      scalars,
    );
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
  readonly scalarNames = ["lr", "step_size", "bias_correction2_sqrt"] as const;
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

  scalars(step: number, lr: number): Record<string, number> {
    const [beta1, beta2] = this.betas;
    return {
      lr,
      step_size: lr / (1 - beta1 ** step),
      bias_correction2_sqrt: Math.sqrt(1 - beta2 ** step),
    };
  }

  /** One Adam step of `value` with gradient `grad` (no weight decay here). */
  protected adamStep(
    value: Tensor,
    grad: Tensor,
    [m, v]: Tensor[],
    scalars: Record<string, Tensor>,
  ): SlotUpdate {
    const [beta1, beta2] = this.betas;
    const nextM = T.add(T.mul(m, beta1), T.mul(grad, 1 - beta1));
    const nextV = T.add(T.mul(v, beta2), T.mul(T.square(grad), 1 - beta2));
    const denom = T.add(T.div(T.sqrt(nextV), scalars.bias_correction2_sqrt), this.eps);
    const next = T.sub(value, T.mul(T.div(nextM, denom), scalars.step_size));
    return { value: next, state: [nextM, nextV] };
  }
}

/** Adam (PyTorch `torch.optim.Adam`): `weightDecay` is L2 regularisation added to the gradient. */
export class Adam extends AdamBase {
  constructor(options: AdamOptions = {}) {
    super(options, 0);
  }

  protected apply(slots: readonly ParameterSlot[], scalars: Record<string, Tensor>): SlotUpdate[] {
    return slots.map(({ value, grad, state }) => {
      const g = this.weightDecay ? T.add(grad, T.mul(value, this.weightDecay)) : grad;
      return this.adamStep(value, g, state, scalars);
    });
  }
}

/** AdamW (PyTorch `torch.optim.AdamW`): decoupled decay p ← p·(1 − lr·weightDecay), default 1e-2. */
export class AdamW extends AdamBase {
  constructor(options: AdamOptions = {}) {
    super(options, 1e-2);
  }

  protected apply(slots: readonly ParameterSlot[], scalars: Record<string, Tensor>): SlotUpdate[] {
    return slots.map(({ value, grad, state }) => {
      const decayed = this.weightDecay ? T.mul(value, T.sub(1, T.mul(scalars.lr, this.weightDecay))) : value;
      return this.adamStep(decayed, grad, state, scalars);
    });
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
  readonly scalarNames = ["lr"] as const;
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

  scalars(_step: number, lr: number): Record<string, number> {
    return { lr };
  }

  protected apply(slots: readonly ParameterSlot[], scalars: Record<string, Tensor>): SlotUpdate[] {
    return slots.map(({ value, grad, state }) => {
      const g = this.weightDecay ? T.add(grad, T.mul(value, this.weightDecay)) : grad;
      if (!this.momentum) return { value: T.sub(value, T.mul(g, scalars.lr)), state: [] };
      const buffer = T.add(T.mul(state[0], this.momentum), g);
      const direction = this.nesterov ? T.add(g, T.mul(buffer, this.momentum)) : buffer;
      return { value: T.sub(value, T.mul(direction, scalars.lr)), state: [buffer] };
    });
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
