/**
 * Memory reads shared by MemAE, DAAD and SQUID.
 *
 * - `memoryRead` (methods.md §1.2): dot or cosine addressing, softmax over the memory rows, optional
 *   hard shrinkage max(w − λ, 0)·w/(|w − λ| + 1e-12) and L1 re-normalisation; returns the read and
 *   the weights (for the entropy loss, `attentionEntropy`).
 * - `topKRead` (§1.3, SQUID's "Gumbel shrinkage", no noise): the forward weights are the softmax
 *   hard-shrunk at its k-th largest value (so the k − 1 strictly larger entries survive) and
 *   L1-normalised, computed on a detached copy; the backward pass is the softmax's (straight-through).
 * - `Memory`: a trainable memory [N, C] initialised U(−1/√C, 1/√C) read with either rule; `readBlocks`
 *   reads a feature map block by block (`divideBlocks`, read, `assembleBlocks`). Block side 1 is the
 *   position-wise read of MemAE (§3.1); larger blocks give DAAD's divide-and-assemble read (§6.2).
 * - `BlockMemoryModule`: DAAD's `BM(C, b, N, C_m)` (§6.2 [ours]): 1×1 reduce C→C_m with BN and
 *   LReLU(0.2), the block read of b×b blocks, 1×1 expand C_m→C with BN and LReLU(0.2). A map side not
 *   divisible by b fails at construction.
 */

import type { Parameter, Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import type { Random } from "../../util/random.js";
import { uniform } from "../init.js";
import { Layer, type LayerOptions } from "../layer.js";
import { BatchNorm2d, Conv2d, leakyRelu } from "../layers.js";

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

/**
 * Divide a map x [B, C, H, W] into non-overlapping b×b blocks, each flattened channel-major (c, then
 * the row and column within the block): [B·(H/b)·(W/b), C·b·b], blocks in row-major order per image.
 */
export function divideBlocks(x: Tensor, block: number): Tensor {
  const [n, c, h, w] = x.shape;
  if (h % block !== 0 || w % block !== 0)
    throw new Error(`divide into blocks: a ${h}×${w} map is not divisible into ${block}×${block} blocks`);
  const blocks = T.reshape(x, [n, c, h / block, block, w / block, block]);
  return T.reshape(T.transpose(blocks, [0, 2, 4, 1, 3, 5]), [
    (n * h * w) / (block * block),
    c * block * block,
  ]);
}

/** The inverse of `divideBlocks`: rows [B·(H/b)·(W/b), C·b·b] back into a map of `shape` [B, C, H, W]. */
export function assembleBlocks(rows: Tensor, shape: readonly number[], block: number): Tensor {
  const [n, c, h, w] = shape;
  const blocks = T.reshape(rows, [n, h / block, w / block, c, block, block]);
  return T.reshape(T.transpose(blocks, [0, 3, 1, 4, 2, 5]), [n, c, h, w]);
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

  /**
   * Read a map x [B, C', H, W] block by block: each b×b block (C'·b² = the row width) is a query; the
   * output is the assembled map of reads and the weights [B·(H/b)·(W/b), N].
   */
  readBlocks(x: Tensor, block: number): MemoryReadResult {
    const read = this.forward(divideBlocks(x, block));
    return { output: assembleBlocks(read.output, x.shape, block), weights: read.weights };
  }
}

export interface BlockMemoryModuleOptions {
  /** Channels C of the map the module sits on. */
  channels: number;
  /** Channels C_m after the 1×1 reduction; a memory row has C_m·b² values. */
  reducedChannels: number;
  /** Block side b. */
  block: number;
  /** Memory rows N. */
  slots: number;
  /** Side of the (square) map at this scale, checked against b. */
  mapSize: number;
  /** Name of the scale for error messages, e.g. "scale 3". */
  scale: string;
  shrinkThreshold: number;
  addressing: Addressing;
}

/** DAAD's block-wise memory module BM(C, b, N, C_m) (methods.md §6.2 [ours]). */
export class BlockMemoryModule extends Layer {
  readonly reduce: Conv2d;
  readonly reduceNorm: BatchNorm2d;
  readonly memory: Memory;
  readonly expand: Conv2d;
  readonly expandNorm: BatchNorm2d;

  constructor(
    rng: Random,
    readonly options: BlockMemoryModuleOptions,
  ) {
    super();
    const { channels, reducedChannels, block, mapSize, scale } = options;
    if (!Number.isInteger(block) || block < 1 || mapSize % block !== 0)
      throw new Error(
        `block-wise memory at ${scale}: the ${mapSize}×${mapSize} map is not divisible into blocks of side ${block}`,
      );
    this.reduce = this.child("reduce", new Conv2d(rng, { in: channels, out: reducedChannels, kernel: 1 }));
    this.reduceNorm = this.child("reduce_bn", new BatchNorm2d(reducedChannels));
    this.memory = this.child(
      "memory",
      new Memory(rng, {
        slots: options.slots,
        channels: reducedChannels * block * block,
        shrink: { threshold: options.shrinkThreshold },
        addressing: options.addressing,
      }),
    );
    this.expand = this.child("expand", new Conv2d(rng, { in: reducedChannels, out: channels, kernel: 1 }));
    this.expandNorm = this.child("expand_bn", new BatchNorm2d(channels));
  }

  /** x [B, C, S, S] → the map recalled from memory [B, C, S, S] and the weights [B·(S/b)², N]. */
  forward(x: Tensor): MemoryReadResult {
    return this.scoped(() => {
      const reduced = leakyRelu(this.reduceNorm.forward(this.reduce.forward(x)), 0.2);
      const read = this.memory.readBlocks(reduced, this.options.block);
      const output = leakyRelu(this.expandNorm.forward(this.expand.forward(read.output)), 0.2);
      return { output, weights: read.weights };
    });
  }
}
