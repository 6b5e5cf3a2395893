/**
 * Layers with PyTorch's parameter layouts, names and default initialisations (methods.md §1.1):
 * Linear, Conv2d, ConvTranspose2d, BatchNorm1d/2d, LayerNorm, plus dropout from a fed mask and the
 * activations re-exported from the engine.
 *
 * BatchNorm: γ = 1, β = 0, eps 1e-5, momentum 0.1. In training mode it normalises with the batch
 * statistics over every axis but the channel axis (biased variance) and records the next running
 * statistics (running = (1 − momentum)·running + momentum·batch, the running variance from the unbiased
 * batch variance) as buffer updates; in evaluation mode it uses the running statistics, unless
 * `forceBatchStats` is set (SQUID's discriminator BN stays in batch mode at test, §4.8 trap 1), in which
 * case it normalises with the batch statistics and leaves the running statistics unchanged. Batch
 * statistics go through the engine's `batchNormTrain` (closed-form gradient).
 *
 * `frozen` (Conv2d, BatchNorm): every tensor is a buffer, not a trainable parameter, so no optimiser
 * sees it; a frozen BatchNorm always normalises with its running statistics (a pretrained, eval-mode
 * layer, e.g. a distillation teacher) and never updates them.
 */

import type { Parameter, Tensor } from "../engine/index.js";
import * as T from "../engine/index.js";
import type { Random } from "../util/random.js";
import { constantInit, defaultBias, defaultWeight } from "./init.js";
import { Layer, type LayerOptions } from "./layer.js";

export {
  gelu,
  leakyRelu,
  logSoftmax,
  relu,
  relu6,
  sigmoid,
  softmax,
  tanh,
} from "../engine/index.js";

type Pair = number | readonly [number, number];

function pair(v: Pair): [number, number] {
  return typeof v === "number" ? [v, v] : [v[0], v[1]];
}

export interface LinearOptions extends LayerOptions {
  in: number;
  out: number;
  bias?: boolean;
}

/** y = x·Wᵀ + b over the last axis; weight [out, in]. */
export class Linear extends Layer {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;

  constructor(
    rng: Random,
    readonly options: LinearOptions,
  ) {
    super(options.name);
    const shape = [options.out, options.in];
    this.weight = this.parameter("weight", shape, defaultWeight(rng, shape));
    this.bias =
      (options.bias ?? true)
        ? this.parameter("bias", [options.out], defaultBias(rng, options.out, shape))
        : undefined;
  }

  forward(x: Tensor): Tensor {
    return this.scoped(() => T.linear(x, this.use(this.weight), this.bias && this.use(this.bias)));
  }
}

export interface Conv2dOptions extends LayerOptions {
  in: number;
  out: number;
  kernel: Pair;
  stride?: Pair;
  /** A number, "valid", "same", or explicit [top, left, bottom, right]. */
  padding?: T.Padding;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  /** Register weight and bias as buffers (pretrained, not trained). */
  frozen?: boolean;
}

/** Shared by Conv2d and ConvTranspose2d: group check, weight of the given layout, optional bias. */
abstract class ConvolutionLayer extends Layer {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;

  protected constructor(
    rng: Random,
    options: { in: number; out: number; groups?: number; bias?: boolean; frozen?: boolean; name?: string },
    weightShape: (groups: number) => number[],
  ) {
    super(options.name);
    const groups = options.groups ?? 1;
    if (options.in % groups !== 0 || options.out % groups !== 0)
      throw new Error(
        `${new.target.name}: in (${options.in}) and out (${options.out}) must be divisible by groups (${groups})`,
      );
    const shape = weightShape(groups);
    const register = (name: string, shape: readonly number[], value: Float32Array) =>
      options.frozen ? this.buffer(name, shape, value) : this.parameter(name, shape, value);
    this.weight = register("weight", shape, defaultWeight(rng, shape));
    this.bias =
      (options.bias ?? true)
        ? register("bias", [options.out], defaultBias(rng, options.out, shape))
        : undefined;
  }
}

/** 2-D convolution, NCHW; weight [out, in/groups, kh, kw]. */
export class Conv2d extends ConvolutionLayer {
  constructor(
    rng: Random,
    readonly options: Conv2dOptions,
  ) {
    super(rng, options, (groups) => [options.out, options.in / groups, ...pair(options.kernel)]);
  }

  forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups } = this.options;
    return this.scoped(() =>
      T.conv2d(x, this.use(this.weight), this.bias && this.use(this.bias), {
        stride,
        padding,
        dilation,
        groups,
      }),
    );
  }
}

export interface ConvTranspose2dOptions extends LayerOptions {
  in: number;
  out: number;
  kernel: Pair;
  stride?: Pair;
  /** A number or explicit [top, left, bottom, right]. */
  padding?: number | readonly [number, number, number, number];
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/** Transposed 2-D convolution; weight [in, out/groups, kh, kw]; output (H−1)·s − 2p + k + output_padding. */
export class ConvTranspose2d extends ConvolutionLayer {
  constructor(
    rng: Random,
    readonly options: ConvTranspose2dOptions,
  ) {
    super(rng, options, (groups) => [options.in, options.out / groups, ...pair(options.kernel)]);
  }

  forward(x: Tensor): Tensor {
    const { stride, padding, outputPadding, dilation, groups } = this.options;
    return this.scoped(() =>
      T.convTranspose2d(x, this.use(this.weight), this.bias && this.use(this.bias), {
        stride,
        padding,
        outputPadding,
        dilation,
        groups,
      }),
    );
  }
}

export interface BatchNormOptions extends LayerOptions {
  eps?: number;
  momentum?: number;
  /** Normalise with batch statistics in evaluation mode too (running statistics are then not updated). */
  forceBatchStats?: boolean;
  /** γ and β as buffers; always the running statistics, never updated (see the module comment). */
  frozen?: boolean;
}

/** Batch normalisation over axis 1 of an input of rank `rank` (shared by BatchNorm1d and BatchNorm2d). */
abstract class BatchNorm extends Layer {
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly runningMean: Parameter;
  readonly runningVar: Parameter;
  readonly eps: number;
  readonly momentum: number;
  readonly forceBatchStats: boolean;
  readonly frozen: boolean;

  constructor(
    readonly channels: number,
    private readonly ranks: readonly number[],
    options: BatchNormOptions,
  ) {
    super(options.name);
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.forceBatchStats = options.forceBatchStats ?? false;
    this.frozen = options.frozen ?? false;
    const register = this.frozen ? this.buffer.bind(this) : this.parameter.bind(this);
    this.weight = register("weight", [channels], constantInit([channels], 1));
    this.bias = register("bias", [channels], constantInit([channels], 0));
    this.runningMean = this.buffer("running_mean", [channels], constantInit([channels], 0));
    this.runningVar = this.buffer("running_var", [channels], constantInit([channels], 1));
  }

  forward(x: Tensor): Tensor {
    return this.scoped(() => {
      if (!this.ranks.includes(x.rank) || x.shape[1] !== this.channels) {
        throw new T.ShapeError(
          this.constructor.name,
          this.path(),
          [x.shape],
          `expects rank ${this.ranks.join(" or ")} with ${this.channels} channels on axis 1`,
        );
      }
      const perChannel = (t: Tensor) =>
        T.reshape(
          t,
          x.shape.map((d, i) => (i === 1 ? d : 1)),
        );
      const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
      const gamma = perChannel(this.use(this.weight));
      const beta = perChannel(this.use(this.bias));
      if (!this.frozen && (this.training || this.forceBatchStats)) {
        const { y, mean, variance } = T.batchNormTrain(x, gamma, beta, axes, this.eps);
        if (this.training) this.updateRunningStats(mean, variance, x.size / this.channels);
        return y;
      }
      // x·scale + shift: with frozen weights both fold to constants that ONNX Runtime fuses into a Conv.
      const scale = T.mul(T.rsqrt(T.add(perChannel(this.use(this.runningVar)), this.eps)), gamma);
      const shift = T.sub(beta, T.mul(perChannel(this.use(this.runningMean)), scale));
      return T.add(T.mul(x, scale), shift);
    });
  }

  private updateRunningStats(mean: Tensor, variance: Tensor, count: number): void {
    if (count < 2)
      throw new Error(`${this.path()}: batch norm in training mode needs more than 1 value per channel`);
    const m = this.momentum;
    const blend = (running: Parameter, batch: Tensor) =>
      T.add(T.mul(this.use(running), 1 - m), T.mul(T.reshape(T.stopGradient(batch), [this.channels]), m));
    this.update(this.runningMean, blend(this.runningMean, mean));
    this.update(this.runningVar, blend(this.runningVar, T.mul(variance, count / (count - 1))));
  }
}

/** BatchNorm over N·H·W of an NCHW input. */
export class BatchNorm2d extends BatchNorm {
  constructor(channels: number, options: BatchNormOptions = {}) {
    super(channels, [4], options);
  }
}

/** BatchNorm over N (input [N, C]) or N·L (input [N, C, L]). */
export class BatchNorm1d extends BatchNorm {
  constructor(channels: number, options: BatchNormOptions = {}) {
    super(channels, [2, 3], options);
  }
}

export interface LayerNormOptions extends LayerOptions {
  eps?: number;
  /** Learnable γ (ones) and β (zeros); default true. */
  affine?: boolean;
}

/** Normalise over the last axis (biased variance), then γ·x̂ + β. */
export class LayerNorm extends Layer {
  readonly weight: Parameter | undefined;
  readonly bias: Parameter | undefined;
  readonly eps: number;

  constructor(
    readonly features: number,
    options: LayerNormOptions = {},
  ) {
    super(options.name);
    this.eps = options.eps ?? 1e-5;
    if (options.affine ?? true) {
      this.weight = this.parameter("weight", [features], constantInit([features], 1));
      this.bias = this.parameter("bias", [features], constantInit([features], 0));
    }
  }

  forward(x: Tensor): Tensor {
    return this.scoped(() => {
      if (x.shape[x.rank - 1] !== this.features) {
        throw new T.ShapeError(
          "LayerNorm",
          this.path(),
          [x.shape],
          `expects ${this.features} features on the last axis`,
        );
      }
      const mean = T.mean(x, -1, true);
      const centred = T.sub(x, mean);
      const normalised = T.mul(centred, T.rsqrt(T.add(T.mean(T.square(centred), -1, true), this.eps)));
      if (!this.weight || !this.bias) return normalised;
      return T.add(T.mul(normalised, this.use(this.weight)), this.use(this.bias));
    });
  }
}

/**
 * Inverted dropout with a fed keep-mask (1 = keep, 0 = drop; see `dropoutMask`): x·mask/(1 − p).
 * Randomness comes from the host's seeded generator as a graph input (engine.md §3.5).
 */
export function dropout(x: Tensor, mask: Tensor, p: number): Tensor {
  if (p < 0 || p >= 1) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  return T.mul(T.mul(x, mask), 1 / (1 - p));
}

/** A keep-mask for `dropout`: each entry 1 with probability 1 − p, else 0. */
export function dropoutMask(rng: Random, shape: readonly number[], p: number): Float32Array {
  const mask = new Float32Array(shape.reduce((a, d) => a * d, 1));
  for (let i = 0; i < mask.length; i++) mask[i] = rng.bernoulli(1 - p) ? 1 : 0;
  return mask;
}
