/**
 * SQUID's memories (methods.md §4.2) [code: models/memory.py @1bb3b70].
 *
 * - `MemoryQueues`: one FIFO queue per grid position, all in one buffer [P, slots, d] (row p is the
 *   queue of position p), initialised U(−1/√d, 1/√d) [code], plus the write pointer as a one-value
 *   buffer (so checkpoints and `--resume` keep it). Reads are §1.3 top-k reads of position p's
 *   features against queue p only, through `stopGradient`, so no gradient ever reaches a queue.
 *   `write(f)` records, as buffer updates of the current step, the FIFO write of the B features of
 *   every position into rows ptr … ptr+B−1 (wrapping around) and ptr ← (ptr + B) mod slots [code:
 *   MemoryQueue.update]. The write is computed in the graph from the pointer buffer: the row of item i
 *   is ptr + i, minus `slots` when it passes the end (B ≤ slots, so one subtraction suffices); a
 *   one-hot [slots, B] matrix built with Equal against constant row numbers selects the written rows.
 * - `PositionMemories` [ours, ablation `memory: "matrix"`]: the same per-position reads against
 *   learned memory matrices (trainable, §1.3 read without stop-gradient), no writes.
 * - `MemoryMatrixBlock` [code: MemoryMatrixBlock]: the decoder's space-aware memory. Each patch's map
 *   is cut into a 2×2 grid of windows; window j (flattened position-major, then channel) is read from
 *   its own trainable memory; in training the result is mixed with the input by a per-position
 *   Bernoulli(ρ) mask (fed by the caller): m·read + (1 − m)·input.
 */

import type { Parameter, Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import { Memory, patchify, topKRead, uniform, unpatchify } from "../../nn/index.js";
import { Layer } from "../../nn/layer.js";
import type { Random } from "../../util/random.js";

/** Reads of per-position features f [B, P, d]: [B, P, d]. */
export interface PositionMemory {
  read(features: Tensor): Tensor;
}

function positionSlice(features: Tensor, p: number): Tensor {
  const [batch, , d] = features.shape;
  return T.reshape(T.slice(features, [{ axis: 1, start: p, end: p + 1 }]), [batch, d]);
}

function stackPositions(reads: Tensor[]): Tensor {
  const [batch, d] = reads[0].shape;
  return T.concat(
    reads.map((r) => T.reshape(r, [batch, 1, d])),
    1,
  );
}

export interface QueueOptions {
  positions: number;
  slots: number;
  channels: number;
  topK: number;
}

export class MemoryQueues extends Layer implements PositionMemory {
  readonly queue: Parameter;
  readonly pointer: Parameter;

  constructor(
    rng: Random,
    readonly options: QueueOptions,
  ) {
    super();
    const { positions, slots, channels } = options;
    const bound = 1 / Math.sqrt(channels);
    const shape = [positions, slots, channels];
    this.queue = this.buffer("queue", shape, uniform(rng, shape, -bound, bound));
    this.pointer = this.buffer("pointer", [1], new Float32Array(1));
  }

  /** The queue of position p, [slots, d], without gradient. */
  private queueOf(p: number): Tensor {
    const { slots, channels } = this.options;
    const rows = T.slice(this.use(this.queue), [{ axis: 0, start: p, end: p + 1 }]);
    return T.stopGradient(T.reshape(rows, [slots, channels]));
  }

  read(features: Tensor): Tensor {
    return this.scoped(() =>
      stackPositions(
        Array.from(
          { length: this.options.positions },
          (_, p) => topKRead(positionSlice(features, p), this.queueOf(p), this.options.topK).output,
        ),
      ),
    );
  }

  /** Record the FIFO write of features [B, P, d] (detached) as this step's queue and pointer updates. */
  write(features: Tensor): void {
    const { slots } = this.options;
    const batch = features.shape[0];
    if (batch > slots)
      throw new Error(`SQUID memory queue: a batch of ${batch} does not fit in a queue of ${slots} slots`);
    this.scoped(() => {
      const pointer = this.use(this.pointer);
      const wrap = (position: Tensor) =>
        T.where(T.greaterEqual(position, slots), T.sub(position, slots), position);
      const itemRows = wrap(
        T.add(
          pointer,
          T.constant(
            Array.from({ length: batch }, (_, i) => i),
            [batch],
          ),
        ),
      );
      const rowNumbers = T.constant(
        Array.from({ length: slots }, (_, r) => r),
        [slots, 1],
      );
      const oneHot = T.cast(T.equal(rowNumbers, T.reshape(itemRows, [1, batch])), "float32");
      const written = T.sum(oneHot, 1, true);
      const values = T.transpose(T.stopGradient(features), [1, 0, 2]);
      const kept = T.mul(this.use(this.queue), T.sub(1, written));
      this.update(this.queue, T.add(kept, T.matMul(oneHot, values)));
      this.update(this.pointer, wrap(T.add(pointer, batch)));
    });
  }
}

export class PositionMemories extends Layer implements PositionMemory {
  readonly memories: Memory[];

  constructor(rng: Random, options: QueueOptions) {
    super();
    this.memories = Array.from({ length: options.positions }, (_, p) =>
      this.child(
        `memory${p}`,
        new Memory(rng, { slots: options.slots, channels: options.channels, shrink: { topK: options.topK } }),
      ),
    );
  }

  read(features: Tensor): Tensor {
    return stackPositions(
      this.memories.map((memory, p) => memory.forward(positionSlice(features, p)).output),
    );
  }
}

export interface MemoryMatrixOptions {
  /** Channels C and side H = W of the maps it reads. */
  channels: number;
  side: number;
  slots: number;
  topK: number;
}

/** Windows per side of a MemoryMatrixBlock (official `num_memory` = 4). */
const WINDOW_GRID = 2;

export class MemoryMatrixBlock extends Layer {
  readonly memories: Memory[];
  readonly windowSide: number;

  constructor(
    rng: Random,
    readonly options: MemoryMatrixOptions,
  ) {
    super();
    if (options.side % WINDOW_GRID !== 0)
      throw new Error(`MemoryMatrixBlock: side ${options.side} is not divisible by ${WINDOW_GRID}`);
    this.windowSide = options.side / WINDOW_GRID;
    const dim = this.windowSide ** 2 * options.channels;
    this.memories = Array.from({ length: WINDOW_GRID ** 2 }, (_, j) =>
      this.child(
        `memory${j}`,
        new Memory(rng, { slots: options.slots, channels: dim, shrink: { topK: options.topK } }),
      ),
    );
  }

  /** x [B, C, H, W]; `mask` [B, 1, H, W] (1 = keep the memory read) in training, none in evaluation. */
  forward(x: Tensor, mask: Tensor | undefined): Tensor {
    const [batch, channels] = x.shape;
    const ws = this.windowSide;
    const windows = T.reshape(T.transpose(patchify(x, WINDOW_GRID), [0, 2, 3, 1]), [
      batch,
      WINDOW_GRID ** 2,
      ws * ws * channels,
    ]);
    const reads = stackPositions(
      this.memories.map((memory, j) => memory.forward(positionSlice(windows, j)).output),
    );
    const patches = T.transpose(T.reshape(reads, [batch * WINDOW_GRID ** 2, ws, ws, channels]), [0, 3, 1, 2]);
    const recalled = unpatchify(patches, WINDOW_GRID);
    if (!mask) return recalled;
    return T.add(T.mul(recalled, mask), T.mul(x, T.sub(1, mask)));
  }
}
