/**
 * What a training step needs from an optimiser (docs/engine.md §3.4): the update rule as graph
 * operations. Given each trainable parameter's tensor, its gradient and its state tensors (graph
 * inputs, one per name in `stateNames`, zero-initialised, e.g. Adam's moments), the optimiser returns
 * the updated parameter and state tensors. Everything that changes from step to step (the learning
 * rate and quantities of the step count) enters as scalar graph inputs named by `scalarNames`, whose
 * values `scalars(step, lr)` computes on the host. The optimisers themselves (Adam, AdamW, SGD) are
 * layers above, in src/nn/optim.ts.
 */
import type { Tensor } from "./ir.js";

/** One trainable parameter as the optimiser sees it inside the graph. */
export interface ParameterSlot {
  value: Tensor;
  grad: Tensor;
  /** Optimiser state tensors, in the order of `stateNames`. */
  state: Tensor[];
}

/** The updated parameter and optimiser state of one slot. */
export interface SlotUpdate {
  value: Tensor;
  state: Tensor[];
}

export interface GraphOptimizer {
  /** The default learning rate (a step may override it per run). */
  readonly lr: number;
  /** Names of the per-parameter state tensors (zero-initialised, same shape as the parameter). */
  readonly stateNames: readonly string[];
  /** Names of the scalar graph inputs this optimiser reads. */
  readonly scalarNames: readonly string[];
  /** Values of the scalar inputs for update number `step` (1-based) at learning rate `lr`. */
  scalars(step: number, lr: number): Record<string, number>;
  /** Updated parameters and state for all slots, given the scalar inputs by name. */
  update(slots: readonly ParameterSlot[], scalars: Record<string, Tensor>): SlotUpdate[];
}
