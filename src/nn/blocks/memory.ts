/**
 * Memory reads shared by MemAE, DAAD and SQUID.
 *
 * - `memoryRead` (methods.md §1.2): dot or cosine addressing, softmax over the memory rows, optional
 *   hard shrinkage max(w − λ, 0)·w/(|w − λ| + 1e-12) and L1 re-normalisation; returns the read and
 *   the weights (for the entropy loss, `attentionEntropy`).
 * - `topKRead` (§1.3, SQUID's "Gumbel shrinkage", no noise): the forward weights are the softmax
 *   hard-shrunk at its k-th largest value (so the k − 1 strictly larger entries survive) and
 *   L1-normalised, computed on a detached copy; the backward pass is the softmax's (straight-through).
 * - `Memory`: a trainable memory [N, C] initialised U(−1/√C, 1/√C) read with either rule.
 */

import type { Parameter, Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import type { Random } from "../../util/random.js";
import { uniform } from "../init.js";
import { Layer, type LayerOptions } from "../layer.js";

const EPS = 1e-12;

export type Addressing = "dot" | "cosine";

export interface MemoryReadResult {
  /** The read ẑ = w·M, shape [..., C]. */
  output: Tensor;
  /** The addressing weights w, shape [..., N]. */
  weights: Tensor;
}

/** Rows of `w` (last axis) with entries at or below `threshold` set to 0: relu(w − t)·w/(|w − t| + 1e-12). */
export function hardShrinkRelu(w: Tensor, threshold: T.Operand): Tensor {
  const shifted = T.sub(w, threshold);
  return T.div(T.mul(T.relu(shifted), w), T.add(T.abs(shifted), EPS));
}

/** w / max(Σ w, 1e-12) over the last axis (PyTorch F.normalize with p = 1 on non-negative rows). */
export function l1Normalize(w: Tensor): Tensor {
  return T.div(w, T.maximum(T.sum(T.abs(w), -1, true), EPS));
}

/** Similarity logits of queries z [..., C] against memory rows M [N, C]: [..., N]. */
export function addressingLogits(z: Tensor, memory: Tensor, addressing: Addressing): Tensor {
  const dot = T.matMul(z, T.transpose(memory, [1, 0]));
  if (addressing === "dot") return dot;
  const queryNorm = T.sqrt(T.sum(T.square(z), -1, true));
  const rowNorm = T.reshape(T.sqrt(T.sum(T.square(memory), -1)), [memory.shape[0]]);
  return T.div(dot, T.add(T.mul(queryNorm, rowNorm), EPS));
}

export interface MemoryReadOptions {
  addressing?: Addressing;
  /** Hard-shrinkage threshold λ ≥ 0; 0 disables shrinkage. */
  shrinkThreshold?: number;
}

/** §1.2: softmax addressing with optional hard shrinkage and L1 re-normalisation. */
export function memoryRead(z: Tensor, memory: Tensor, options: MemoryReadOptions = {}): MemoryReadResult {
  const lambda = options.shrinkThreshold ?? 0;
  if (lambda < 0) throw new Error(`memory read: the shrink threshold must be >= 0, got ${lambda}`);
  let weights = T.softmax(addressingLogits(z, memory, options.addressing ?? "cosine"), -1);
  if (lambda > 0) weights = l1Normalize(hardShrinkRelu(weights, lambda));
  return { output: T.matMul(weights, memory), weights };
}

/** §1.3: top-(k − 1) straight-through read with dot-product logits. */
export function topKRead(z: Tensor, memory: Tensor, k: number): MemoryReadResult {
  const slots = memory.shape[0];
  if (!Number.isInteger(k) || k < 1 || k > slots)
    throw new Error(`top-k memory read: k must be an integer in [1, ${slots}], got ${k}`);
  const soft = T.softmax(addressingLogits(z, memory, "dot"), -1);
  const detached = T.stopGradient(soft);
  const kth = T.slice(T.topK(detached, k, -1).values, [{ axis: -1, start: k - 1, end: k }]);
  const hard = l1Normalize(hardShrinkRelu(detached, kth));
  const weights = T.straightThrough(hard, soft);
  return { output: T.matMul(weights, memory), weights };
}

export interface MemoryOptions extends LayerOptions {
  /** Number of memory rows N. */
  slots: number;
  /** Row width C. */
  channels: number;
  /** `{ topK: k }` selects the top-k straight-through read (§1.3), `{ threshold: λ }` the §1.2 read. */
  shrink?: { topK: number } | { threshold: number };
  addressing?: Addressing;
}

/** A trainable memory M [N, C] (parameter "weight"), U(−1/√C, 1/√C). */
export class Memory extends Layer {
  readonly weight: Parameter;

  constructor(
    rng: Random,
    readonly options: MemoryOptions,
  ) {
    super(options.name);
    const bound = 1 / Math.sqrt(options.channels);
    const shape = [options.slots, options.channels];
    this.weight = this.parameter("weight", shape, uniform(rng, shape, -bound, bound));
  }

  /** Read queries z [..., C]. */
  forward(z: Tensor): MemoryReadResult {
    const shrink = this.options.shrink;
    return this.scoped(() =>
      shrink && "topK" in shrink
        ? topKRead(z, this.use(this.weight), shrink.topK)
        : memoryRead(z, this.use(this.weight), {
            addressing: this.options.addressing,
            shrinkThreshold: shrink?.threshold ?? 0,
          }),
    );
  }
}
