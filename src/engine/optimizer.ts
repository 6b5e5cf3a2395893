/**
 * What a training step needs from an optimiser: the update rule, applied after each run of the step
 * graph to the host arrays the step holds. The graph computes the loss and the gradients; the step
 * checks that they are finite and then hands each trainable parameter's values, its gradient and its
 * state arrays (zero-initialised, one per name in `stateNames`, e.g. Adam's moments) to `update`,
 * which changes the values and the state in place. The optimisers themselves (Adam, AdamW, SGD) are
 * layers above, in src/nn/optim.ts.
 *
 * Why on the host and not inside the graph (docs/engine.md §3.4 puts the update in the graph): the
 * onnxruntime-node binding returns every graph output in a fresh array even when it has written it
 * into a preallocated one, so an in-graph update holds the state three times at the end of a step
 * (current values and moments, their next values, the binding's copies) and pays for copying all of
 * it. SQUID's generator step (45 M parameters) outputs 515 MB that way against 176 MB of gradients;
 * the memory probe (scripts/step-memory.ts) measured the process peak at 3984 MB with the update in
 * the graph and 3429 MB with it here under retaining malloc, 5080 and 4220 MB with ORT's arena
 * (docs/results.md, "SQUID beside PyTorch", round 4). What §3.4 asks of the in-graph design still
 * holds: the learning rate and the step count are arguments of each update, so schedules and resuming
 * need no recompilation.
 */

/** One trainable parameter as the optimiser sees it; `values` and `state` are updated in place. */
export interface ParameterSlot {
  values: Float32Array;
  /** This step's gradient (read only). */
  grad: Float32Array;
  /** Optimiser state arrays, in the order of `stateNames`. */
  state: Float32Array[];
}

export interface StepOptimizer {
  /** The default learning rate (a step may override it per run). */
  readonly lr: number;
  /** Names of the per-parameter state arrays (zero-initialised, same size as the parameter). */
  readonly stateNames: readonly string[];
  /** Apply update number `step` (1-based) at learning rate `lr` to every slot, in place. */
  update(slots: readonly ParameterSlot[], step: number, lr: number): void;
}
