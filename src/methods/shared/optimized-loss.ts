/**
 * One loss minimised by one optimiser over some networks, compiled lazily for the training batch
 * shape: the building block of every method's `trainBatch` (a GAN method holds two of them). It also
 * keeps optimiser state loaded from a checkpoint until the step exists, and names its state entries
 * `<name>/...` so several of them fit in one checkpoint.
 */
import type { HostArray, Module, Parameter, Tensor } from "../../engine/index.js";
import { compileStep, type OptimizerState, type TrainingStep } from "../../engine/step.js";
import type { Optimizer } from "../../nn/optim.js";

export interface OptimizedLossOptions {
  name: string;
  modules: readonly Module[];
  optimizer: Optimizer;
  /** Parameters to train (default: all of `modules`). */
  trainable?: () => readonly Parameter[];
  /** Per-item shapes of the per-step feeds (the batch axis is added), e.g. `{ images: [1, 128, 128] }`. */
  inputs: Record<string, readonly number[]>;
  /** The traced loss (and optional extra outputs) of one batch. */
  build: (inputs: Record<string, Tensor>) => { loss: Tensor; extraOutputs?: Record<string, Tensor> };
}

export class OptimizedLoss {
  private step: Promise<TrainingStep<Record<string, { shape: number[] }>>> | undefined;
  private batchSize = 0;
  private pending: OptimizerState | undefined;

  constructor(private readonly options: OptimizedLossOptions) {}

  /** One optimiser step on a batch; returns the loss and the extra outputs. */
  async run(feeds: Record<string, HostArray>, batchSize: number, lr?: number) {
    if (this.step && batchSize !== this.batchSize) {
      throw new Error(`${this.options.name}: compiled for batch ${this.batchSize}, got ${batchSize}`);
    }
    if (!this.step) {
      this.batchSize = batchSize;
      for (const m of this.options.modules) m.train();
      this.step = compileStep({
        name: this.options.name,
        modules: this.options.modules,
        inputs: Object.fromEntries(
          Object.entries(this.options.inputs).map(([k, shape]) => [k, { shape: [batchSize, ...shape] }]),
        ),
        build: this.options.build,
        optimizer: this.options.optimizer,
        trainable: this.options.trainable?.(),
      });
    }
    const step = await this.step;
    if (this.pending) {
      step.loadOptimizerState(this.pending);
      this.pending = undefined;
    }
    return step.run(feeds, { lr });
  }

  async state(): Promise<OptimizerState> {
    if (!this.step) return this.prefixed(this.pending ?? {});
    return this.prefixed((await this.step).optimizerState());
  }

  /** Keep the entries of `all` that belong to this loss; applied now or when the step is compiled. */
  load(all: Record<string, Float32Array>): void {
    const prefix = `${this.options.name}/`;
    const mine: OptimizerState = {};
    for (const [k, v] of Object.entries(all)) if (k.startsWith(prefix)) mine[k.slice(prefix.length)] = v;
    if (Object.keys(mine).length === 0) return;
    this.pending = mine;
  }

  async dispose(): Promise<void> {
    if (this.step) await (await this.step).release();
    this.step = undefined;
  }

  private prefixed(state: OptimizerState): Record<string, Float32Array> {
    return Object.fromEntries(Object.entries(state).map(([k, v]) => [`${this.options.name}/${k}`, v]));
  }
}
