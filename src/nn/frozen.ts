/**
 * `traceFrozen(module, fn)`: trace `fn` with `module` acting as a fixed function — every trainable
 * parameter behind a stop-gradient (its input still receives gradients, its parameters none) and the
 * buffer updates `fn` records (batch-norm running statistics) dropped. Used where one network is
 * evaluated inside another network's optimiser step (DAAD, methods.md §6.3: the discriminator in the
 * generator step, the generator in the discriminator step). The module must already be bound in the
 * current trace (the step binds its modules before `build`).
 */
import type { Module, Parameter, Tensor } from "../engine/index.js";
import * as T from "../engine/index.js";

export function traceFrozen<R>(module: Module, fn: () => R): R {
  const state = module.namedState().map(([, p]) => p);
  const binding = T.bind(module);
  const bound = new Map<Parameter, Tensor>(state.map((p) => [p, binding.tensors.get(p)!]));
  const earlier = new Map(
    state.flatMap((p) => (binding.updates.has(p) ? [[p, binding.updates.get(p)!]] : [])),
  );
  for (const [p, t] of bound) if (p.trainable) binding.tensors.set(p, T.stopGradient(t));
  try {
    return fn();
  } finally {
    for (const [p, t] of bound) binding.tensors.set(p, t);
    for (const p of state) {
      const update = earlier.get(p);
      if (update) binding.updates.set(p, update);
      else binding.updates.delete(p);
    }
  }
}
