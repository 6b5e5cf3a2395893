/**
 * DAAD generator (methods.md §6.2 [ours]): a five-stage encoder (Conv 4×4 s2 p1, 3→64→128→256→512→512
 * for the default base width w = 64, in general w, 2w, 4w, 8w, 8w;
 * BN on all but e1, LeakyReLU(0.2)), block-wise memories BM(C, b, N, C_m) on the maps of e3, e4 and e5
 * (scales 3, 4, 5; src/nn/blocks/memory.ts), and a decoder (ConvT 4×4 s2 p1 + BN + ReLU; "fuse" =
 * Conv 3×3 p1 + BN + ReLU after concatenating a memory output) ending in ConvT 64→3 and tanh:
 *
 *   u5 = up(BM₅(e5)); f4 = fuse([u5, BM₄(e4)]); u4 = up(f4); f3 = fuse([u4, BM₃(e3)]); u3, u2, u1 = up(·).
 *
 * No raw encoder→decoder skip exists: every path from the input to the output passes a memory (§6.8
 * trap 1). `memory: false` is the same-size vanilla autoencoder of the paper's comparison: the same
 * layers without skips and memories (u5 reads e5 directly, f4 and f3 fuse only the upsampled map, so
 * their input widths are 8w and 4w instead of 16w and 8w) [ours].
 *
 * Choices [ours]: convolutions followed by BN have no bias; the first encoder convolution and the last
 * transposed convolution have one. `dcganInitialise` gives every convolution weight N(0, 0.02) and
 * every BN γ N(1, 0.02) (DCGAN convention, also MemAE's official initialisation); biases and memory
 * rows keep their defaults (memory U(±1/√d), §1.2).
 */

import * as T from "../../engine/index.js";
import { Module, type Tensor } from "../../engine/index.js";
import {
  type Addressing,
  BatchNorm2d,
  BlockMemoryModule,
  Conv2d,
  ConvTranspose2d,
  leakyRelu,
  normal,
  relu,
} from "../../nn/index.js";
import type { Random } from "../../util/random.js";

/** Encoder widths for base width w (64 in §6.2): w, 2w, 4w, 8w, 8w. */
export const encoderWidths = (width: number) => [1, 2, 4, 8, 8].map((m) => m * width);
/** Encoder stages (1-based) whose maps carry a block-wise memory. */
export const MEMORY_SCALES = [3, 4, 5] as const;
export type MemoryScale = (typeof MEMORY_SCALES)[number];

/** Side of the encoder map at `scale` for an input of side `imageSize`. */
export const mapSide = (imageSize: number, scale: MemoryScale) => imageSize / 2 ** scale;

/**
 * Default block side at a scale [ours, §6.2]: the largest divisor of the map side that is at most
 * side/4 (a 4×4 grid of blocks when the side is divisible by 4), and at least 1.
 */
export function defaultBlock(side: number): number {
  for (let b = Math.floor(side / 4); b > 1; b--) if (side % b === 0) return b;
  return 1;
}

export interface DaadGeneratorOptions {
  imageSize: number;
  /** Base width w (64 in §6.2). */
  width: number;
  memory: boolean;
  /** Block side per memory scale. */
  blocks: Record<MemoryScale, number>;
  memorySize: number;
  reducedChannels: number;
  shrinkThreshold: number;
  addressing: Addressing;
}

/** Conv/ConvT, optional BN, activation. */
class Stage extends Module {
  readonly conv: Conv2d | ConvTranspose2d;
  readonly norm: BatchNorm2d | undefined;

  constructor(
    conv: Conv2d | ConvTranspose2d,
    normalise: boolean,
    private readonly activation: (x: Tensor) => Tensor,
  ) {
    super();
    this.conv = this.child("conv", conv);
    if (normalise) this.norm = this.child("bn", new BatchNorm2d(conv.options.out));
  }

  forward(x: Tensor): Tensor {
    const y = this.conv.forward(x);
    return this.activation(this.norm ? this.norm.forward(y) : y);
  }
}

const lrelu = (x: Tensor) => leakyRelu(x, 0.2);
const down = { kernel: 4, stride: 2, padding: 1 } as const;

export interface GeneratorOutput {
  /** x̂ in [−1, 1], [B, 3, S, S]. */
  reconstruction: Tensor;
  /** Memory weights per scale (empty without memory). */
  weights: Tensor[];
}

export class DaadGenerator extends Module {
  private readonly encoder: Stage[];
  private readonly memories: Partial<Record<MemoryScale, BlockMemoryModule>> = {};
  private readonly u5: Stage;
  private readonly f4: Stage;
  private readonly u4: Stage;
  private readonly f3: Stage;
  private readonly u3: Stage;
  private readonly u2: Stage;
  private readonly u1: Stage;

  constructor(
    rng: Random,
    readonly options: DaadGeneratorOptions,
  ) {
    super();
    const widths = encoderWidths(options.width);
    this.encoder = widths.map((out, i) =>
      this.child(
        `e${i + 1}`,
        new Stage(
          new Conv2d(rng, { in: i === 0 ? 3 : widths[i - 1], out, ...down, bias: i === 0 }),
          i > 0,
          lrelu,
        ),
      ),
    );
    if (options.memory)
      for (const scale of MEMORY_SCALES)
        this.memories[scale] = this.child(
          `memory${scale}`,
          new BlockMemoryModule(rng, {
            channels: widths[scale - 1],
            reducedChannels: options.reducedChannels,
            block: options.blocks[scale],
            slots: options.memorySize,
            mapSize: mapSide(options.imageSize, scale),
            scale: `scale ${scale}`,
            shrinkThreshold: options.shrinkThreshold,
            addressing: options.addressing,
          }),
        );
    const up = (name: string, input: number, out: number) =>
      this.child(
        name,
        new Stage(new ConvTranspose2d(rng, { in: input, out, ...down, bias: false }), true, relu),
      );
    const fuse = (name: string, input: number, out: number) =>
      this.child(
        name,
        new Stage(new Conv2d(rng, { in: input, out, kernel: 3, padding: 1, bias: false }), true, relu),
      );
    const skip = options.memory ? 1 : 0;
    const [w1, w2, w3, w4] = widths;
    this.u5 = up("u5", w4, w4);
    this.f4 = fuse("f4", w4 + skip * w4, w4);
    this.u4 = up("u4", w4, w3);
    this.f3 = fuse("f3", w3 + skip * w3, w3);
    this.u3 = up("u3", w3, w2);
    this.u2 = up("u2", w2, w1);
    this.u1 = this.child(
      "u1",
      new Stage(new ConvTranspose2d(rng, { in: w1, out: 3, ...down }), false, T.tanh),
    );
    dcganInitialise(rng, this);
  }

  forward(x: Tensor): GeneratorOutput {
    const maps: Tensor[] = [];
    this.encoder.reduce((h, stage) => {
      const next = stage.forward(h);
      maps.push(next);
      return next;
    }, x);
    const weights: Tensor[] = [];
    const recall = (scale: MemoryScale): Tensor => {
      const read = this.memories[scale]!.forward(maps[scale - 1]);
      weights.push(read.weights);
      return read.output;
    };
    const withSkip = (decoded: Tensor, scale: MemoryScale) =>
      this.options.memory ? T.concat([decoded, recall(scale)], 1) : decoded;
    const bottleneck = this.options.memory ? recall(5) : maps[4];
    const f4 = this.f4.forward(withSkip(this.u5.forward(bottleneck), 4));
    const f3 = this.f3.forward(withSkip(this.u4.forward(f4), 3));
    const reconstruction = this.u1.forward(this.u2.forward(this.u3.forward(f3)));
    return { reconstruction, weights };
  }
}

/** N(0, 0.02) convolution weights (rank 4) and N(1, 0.02) batch-norm γ (rank-1 "weight") of `module`. */
export function dcganInitialise(rng: Random, module: Module): void {
  for (const [name, p] of module.namedParameters()) {
    if (!name.endsWith("weight")) continue;
    if (p.shape.length === 4) p.assign(normal(rng, p.shape, 0.02));
    else if (p.shape.length === 1) p.assign(normal(rng, p.shape, 0.02, 1));
  }
}
