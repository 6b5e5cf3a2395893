/**
 * SQUID's generator (methods.md §4.2) [code: models/squid.py, models/inpaint.py, models/basic_modules.py
 * @1bb3b70]: a patch encoder shared by a student and a teacher decoder, the in-painting block with the
 * per-position memory queues between them, and decoder memory matrices in the student.
 *
 * - Input B×1×S×S is cut into the N×N grid (`patchify`, row-major, p = row·N + col); the encoder runs on
 *   the B·P patches: ResConv(1→w) then 4 × ResConv(s2) to 16w channels at side q = S/(16N). The skip of
 *   level i is taken before down_i; levels 0 and 1 (< `initial_combine` = 2) are stored reassembled.
 * - In-painting block (§4.2 table, steps 1–10): Conv1×1 16w→4w (no bias), BN, ReLU; flatten each patch
 *   channel-major to d = 4w·q² (f); per-position memory read n_p (queue p only, top-k); keys = values =
 *   the memory reads of the 8 grid neighbours (zero rows outside the grid, the patch itself excluded,
 *   no key mask [code]); query = the patch's own pre-memory feature f_p; u = ReLU(LN(MHA) + n_p);
 *   v = ReLU(LN(FF(u)) + u), FF = Linear d→d/4, ReLU, Linear d/4→d (dropout 0 [code]); reshape to
 *   4w×q×q, append bits = ⌊log2 P⌋ + 1 constant channels with the binary code of p (most significant
 *   bit first [code: binarize]); Conv1×1 (bias), BN, ReLU = F̂; training: masked shortcut
 *   m·F̂ + (1 − m)·F with a fed Bernoulli(ρ) mask per patch and position; evaluation: F̂.
 *   `inpainting: false` [ours] skips the transformer (v = n).
 * - Decoders, ops [concat, concat, none, none]: Up = bilinear resize to the skip's size (align_corners
 *   false), concat [skip, x] or x alone, ResConv. The student applies a MemoryMatrixBlock after levels
 *   0 and 1 and reassembles the patches before level 2; Out = Conv1×1 → sigmoid. The teacher has its
 *   own Up blocks and Out layer, reads F and the skips through `stopGradient`, and has no in-painting
 *   and no memories. The distillation pairs are the Up outputs of both decoders (the student's after
 *   its memory block).
 * - Queue writes happen only when the caller asks (`writeQueues`, the generator step).
 * Initialisation: PyTorch defaults (methods.md §1.1).
 */

import type { Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import { Module } from "../../engine/index.js";
import {
  BatchNorm2d,
  Conv2d,
  LayerNorm,
  Linear,
  MultiHeadAttention,
  neighbourGather,
  patchify,
  unpatchify,
} from "../../nn/index.js";
import type { Random } from "../../util/random.js";
import { LEVELS, type SquidConfig, type SquidSizes } from "./config.js";
import { MemoryMatrixBlock, MemoryQueues, PositionMemories, type PositionMemory } from "./memories.js";

/** Levels whose skips are stored reassembled, and the decoder level before which patches are reassembled. */
const INITIAL_COMBINE = 2;
const DECODER_OPS = ["concat", "concat", "none", "none"] as const;

/** The binary code of every position 0..P−1, ⌊log2 P⌋ + 1 bits, most significant first [code]. */
export function positionBits(positions: number): number[][] {
  const bits = Math.floor(Math.log2(positions)) + 1;
  return Array.from({ length: positions }, (_, p) =>
    Array.from({ length: bits }, (_, b) => (p >> (bits - 1 - b)) & 1),
  );
}

/** conv3×3(stride)–BN–ReLU = a; conv3×3–BN–ReLU–conv3×3–BN = b; ReLU(a + b) [code: double_conv]. */
class ResConv extends Module {
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm2d;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm2d;
  private readonly conv3: Conv2d;
  private readonly bn3: BatchNorm2d;

  constructor(rng: Random, input: number, out: number, stride: number) {
    super();
    this.conv1 = this.child("conv1", new Conv2d(rng, { in: input, out, kernel: 3, stride, padding: 1 }));
    this.bn1 = this.child("bn1", new BatchNorm2d(out));
    this.conv2 = this.child("conv2", new Conv2d(rng, { in: out, out, kernel: 3, padding: 1 }));
    this.bn2 = this.child("bn2", new BatchNorm2d(out));
    this.conv3 = this.child("conv3", new Conv2d(rng, { in: out, out, kernel: 3, padding: 1 }));
    this.bn3 = this.child("bn3", new BatchNorm2d(out));
  }

  forward(x: Tensor): Tensor {
    const a = T.relu(this.bn1.forward(this.conv1.forward(x)));
    const b = this.bn3.forward(this.conv3.forward(T.relu(this.bn2.forward(this.conv2.forward(a)))));
    return T.relu(T.add(a, b));
  }
}

/** Bilinear resize to the skip's size, optional concat [skip, x], ResConv [code: up]. */
class Up extends Module {
  private readonly conv: ResConv;

  constructor(
    rng: Random,
    input: number,
    out: number,
    readonly op: "concat" | "none",
  ) {
    super();
    this.conv = this.child("conv", new ResConv(rng, input, out, 1));
  }

  forward(x: Tensor, skip: Tensor): Tensor {
    const resized = T.resize(x, [skip.shape[2], skip.shape[3]], "bilinear");
    return this.conv.forward(this.op === "concat" ? T.concat([skip, resized], 1) : resized);
  }
}

/** Up blocks and output layer of one decoder (student or teacher). */
class Decoder extends Module {
  readonly ups: Up[];
  private readonly out: Conv2d;

  constructor(rng: Random, widths: readonly number[]) {
    super();
    this.ups = DECODER_OPS.map((op, i) => {
      const input = widths[LEVELS - i] + (op === "concat" ? widths[LEVELS - i - 1] : 0);
      return this.child(`up${i}`, new Up(rng, input, widths[LEVELS - 1 - i], op));
    });
    this.out = this.child("out", new Conv2d(rng, { in: widths[0], out: 1, kernel: 1 }));
  }

  /**
   * Decode F with the skips (s0 … s3); `afterLevel` transforms each level's output (the student's
   * memory blocks). Returns the reconstruction and every level's output.
   */
  forward(
    features: Tensor,
    skips: readonly Tensor[],
    grid: number,
    afterLevel: (level: number, x: Tensor) => Tensor = (_, x) => x,
  ): { reconstruction: Tensor; levels: Tensor[] } {
    const levels: Tensor[] = [];
    let x = features;
    this.ups.forEach((up, i) => {
      if (i === LEVELS - INITIAL_COMBINE) x = unpatchify(x, grid);
      x = afterLevel(i, up.forward(x, skips[LEVELS - 1 - i]));
      levels.push(x);
    });
    return { reconstruction: T.sigmoid(this.out.forward(x)), levels };
  }
}

/** Training masks of one batch (1 = keep the in-painted / memory value). */
export interface GeneratorMasks {
  /** [B·P, 1, q, q]. */
  shortcut: Tensor;
  /** [B·P, 1, 2q, 2q] and [B·P, 1, 4q, 4q]: decoder memory blocks after levels 0 and 1. */
  decoder: readonly [Tensor, Tensor];
}

export interface InpaintResult {
  output: Tensor;
  /** Pre-memory features f [B, P, d] (what the queues store). */
  features: Tensor;
  /** Memory reads n [B, P, d]. */
  reads: Tensor;
  /** Attention keys [B·P, 8, d] and weights [B·P, 1, 8] (absent without in-painting). */
  keys?: Tensor;
  attentionWeights?: Tensor;
}

export class InpaintBlock extends Module {
  private readonly reduce: Conv2d;
  private readonly reduceNorm: BatchNorm2d;
  readonly memory: PositionMemory & Module;
  private readonly attention: MultiHeadAttention | undefined;
  private readonly norm1: LayerNorm | undefined;
  private readonly ff1: Linear | undefined;
  private readonly ff2: Linear | undefined;
  private readonly norm2: LayerNorm | undefined;
  private readonly expand: Conv2d;
  private readonly expandNorm: BatchNorm2d;
  private readonly bits: number[][];

  constructor(
    rng: Random,
    private readonly sizes: SquidSizes,
    config: SquidConfig,
  ) {
    super();
    const channels = sizes.widths[LEVELS];
    const inner = sizes.innerChannels;
    const d = sizes.memoryChannel;
    this.reduce = this.child("reduce", new Conv2d(rng, { in: channels, out: inner, kernel: 1, bias: false }));
    this.reduceNorm = this.child("reduce_bn", new BatchNorm2d(inner));
    const memoryOptions = {
      positions: sizes.patches,
      slots: sizes.queueSlots,
      channels: d,
      topK: config.topK,
    };
    this.memory = this.child(
      "memory",
      config.memory === "queue"
        ? new MemoryQueues(rng, memoryOptions)
        : new PositionMemories(rng, memoryOptions),
    );
    if (config.inpainting) {
      this.attention = this.child(
        "attention",
        new MultiHeadAttention(rng, { embedDim: d, heads: config.attentionHeads }),
      );
      this.norm1 = this.child("norm1", new LayerNorm(d));
      this.ff1 = this.child("ff1", new Linear(rng, { in: d, out: d / 4 }));
      this.ff2 = this.child("ff2", new Linear(rng, { in: d / 4, out: d }));
      this.norm2 = this.child("norm2", new LayerNorm(d));
    }
    this.bits = positionBits(sizes.patches);
    const bitCount = this.bits[0].length;
    this.expand = this.child("expand", new Conv2d(rng, { in: inner + bitCount, out: channels, kernel: 1 }));
    this.expandNorm = this.child("expand_bn", new BatchNorm2d(channels));
  }

  forward(x: Tensor, shortcutMask: Tensor | undefined, writeQueues: boolean): InpaintResult {
    const { patches, grid, bottleneckSide: q, innerChannels: inner, memoryChannel: d } = this.sizes;
    const rows = x.shape[0];
    const batch = rows / patches;
    const reduced = T.relu(this.reduceNorm.forward(this.reduce.forward(x)));
    const features = T.reshape(reduced, [batch, patches, d]);
    const reads = this.memory.read(features);
    if (writeQueues) {
      if (!(this.memory instanceof MemoryQueues)) throw new Error("SQUID: only memory queues are written");
      this.memory.write(features);
    }
    const flatReads = T.reshape(reads, [rows, d]);
    let inpainted = flatReads;
    let keys: Tensor | undefined;
    let attentionWeights: Tensor | undefined;
    if (this.attention && this.norm1 && this.ff1 && this.ff2 && this.norm2) {
      keys = neighbourGather(reads, grid);
      const query = T.reshape(features, [rows, 1, d]);
      const attended = this.attention.forward(query, keys, keys);
      attentionWeights = attended.weights;
      const u = T.relu(T.add(this.norm1.forward(T.reshape(attended.output, [rows, d])), flatReads));
      const ff = this.ff2.forward(T.relu(this.ff1.forward(u)));
      inpainted = T.relu(T.add(this.norm2.forward(ff), u));
    }
    const bitMaps = this.bits.flatMap((code) => code.flatMap((bit) => new Array<number>(q * q).fill(bit)));
    const bitChannels = T.constant(bitMaps, [1, patches, this.bits[0].length, q, q]);
    const conditioned = T.concat(
      [
        T.reshape(inpainted, [batch, patches, inner, q, q]),
        T.expand(bitChannels, [batch, patches, this.bits[0].length, q, q]),
      ],
      2,
    );
    const expanded = T.relu(
      this.expandNorm.forward(
        this.expand.forward(T.reshape(conditioned, [rows, inner + this.bits[0].length, q, q])),
      ),
    );
    const output = shortcutMask
      ? T.add(T.mul(expanded, shortcutMask), T.mul(x, T.sub(1, shortcutMask)))
      : expanded;
    return { output, features, reads, keys, attentionWeights };
  }
}

export interface GeneratorOptions {
  /** Required in training mode, ignored in evaluation mode. */
  masks?: GeneratorMasks;
  /** Record the FIFO queue write of this forward's features (generator step only). */
  writeQueues?: boolean;
  /** Also run the teacher (training; default false). */
  teacher?: boolean;
}

export interface GeneratorOutputs {
  /** Student reconstruction Î_s, B×1×S×S. */
  reconstruction: Tensor;
  studentLevels: Tensor[];
  teacherReconstruction?: Tensor;
  teacherLevels?: Tensor[];
  inpaint: InpaintResult;
}

/** The patch encoder shared by student and teacher (stem + 4 strided ResConvs). */
export class Encoder extends Module {
  private readonly stem: ResConv;
  private readonly downs: ResConv[];

  constructor(
    rng: Random,
    widths: readonly number[],
    private readonly grid: number,
  ) {
    super();
    this.stem = this.child("stem", new ResConv(rng, 1, widths[0], 1));
    this.downs = Array.from({ length: LEVELS }, (_, i) =>
      this.child(`down${i}`, new ResConv(rng, widths[i], widths[i + 1], 2)),
    );
  }

  /** F [B·P, 16w, q, q] and skips s0 … s3 (s0, s1 reassembled) of images x [B, 1, S, S]. */
  forward(x: Tensor): { features: Tensor; skips: Tensor[] } {
    let h = this.stem.forward(patchify(x, this.grid));
    const skips: Tensor[] = [];
    this.downs.forEach((down, i) => {
      skips.push(i < INITIAL_COMBINE ? unpatchify(h, this.grid) : h);
      h = down.forward(h);
    });
    return { features: h, skips };
  }
}

export class SquidGenerator extends Module {
  readonly encoder: Encoder;
  readonly inpaint: InpaintBlock;
  private readonly student: Decoder;
  private readonly decoderMemories: MemoryMatrixBlock[];
  private readonly teacher: Decoder;
  private readonly distStopGradTeacher: boolean;

  constructor(
    rng: Random,
    readonly sizes: SquidSizes,
    config: SquidConfig,
  ) {
    super();
    const { widths } = sizes;
    this.encoder = this.child("encoder", new Encoder(rng, widths, sizes.grid));
    this.inpaint = this.child("inpaint", new InpaintBlock(rng, sizes, config));
    this.student = this.child("student", new Decoder(rng, widths));
    this.decoderMemories = config.decoderMemory
      ? DECODER_OPS.slice(0, INITIAL_COMBINE).map((_, level) =>
          this.child(
            `decoder_memory${level}`,
            new MemoryMatrixBlock(rng, {
              channels: widths[LEVELS - 1 - level],
              side: sizes.bottleneckSide * 2 ** (level + 1),
              slots: sizes.decoderMemorySlots,
              topK: config.topK,
            }),
          ),
        )
      : [];
    this.teacher = this.child("teacher", new Decoder(rng, widths));
    this.distStopGradTeacher = config.distStopGradTeacher;
  }

  forward(x: Tensor, options: GeneratorOptions = {}): GeneratorOutputs {
    const masks = this.training ? options.masks : undefined;
    if (this.training && !masks) throw new Error("SQUID generator: training mode needs the Bernoulli masks");
    const grid = this.sizes.grid;
    const { features, skips } = this.encoder.forward(x);
    const inpaint = this.inpaint.forward(features, masks?.shortcut, options.writeQueues ?? false);
    const student = this.student.forward(inpaint.output, skips, grid, (level, y) =>
      level < this.decoderMemories.length ? this.decoderMemories[level].forward(y, masks?.decoder[level]) : y,
    );
    const outputs: GeneratorOutputs = {
      reconstruction: student.reconstruction,
      studentLevels: student.levels,
      inpaint,
    };
    if (options.teacher) {
      const teacher = this.teacher.forward(T.stopGradient(features), skips.map(T.stopGradient), grid);
      outputs.teacherReconstruction = teacher.reconstruction;
      outputs.teacherLevels = teacher.levels;
    }
    return outputs;
  }

  /** L_dist = Σ_levels mean((S_l − T_l)²), the teacher side detached when `distStopGradTeacher`. */
  distillation(outputs: GeneratorOutputs): Tensor {
    const teacherLevels = outputs.teacherLevels;
    if (!teacherLevels) throw new Error("SQUID distillation needs the teacher's outputs");
    return outputs.studentLevels
      .map((s, i) => {
        const t = this.distStopGradTeacher ? T.stopGradient(teacherLevels[i]) : teacherLevels[i];
        return T.mean(T.square(T.sub(s, t)));
      })
      .reduce((a, b) => T.add(a, b));
  }
}
