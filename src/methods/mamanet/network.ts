/**
 * MAMA Net's network (methods.md §5.2, [ours] — no official code exists): four MSGSA `down` blocks
 * C→32→64→128→256 and one `same` block 256→256 give the code z (256 × H/16 × W/16); every position
 * of z is one query of the memory (hash addressing, §1.2 cosine read, or none for the ablation); four
 * MSGSA `up` blocks 256→128→64→32→16 and a Conv 3×3 p1 16→C with a sigmoid give x̂ in [0, 1]. No skip
 * connection bypasses the memory (§5.7 trap 2): the decoder sees only the memory's read.
 *
 * The `cosine` memory is the shared §1.2 read (memory.ts) with cosine addressing and no shrinkage; with
 * logits in [−1, 1] over 500 rows its softmax is close to uniform, which is what that ablation measures
 * against the hash read's k = 8 candidates at temperature 0.1.
 */
import * as T from "../../engine/index.js";
import { Module, type Tensor } from "../../engine/index.js";
import { Conv2d, type HashKind, HashMemory, Memory, Msgsa, sigmoid } from "../../nn/index.js";
import type { Random } from "../../util/random.js";

export type MemoryKind = "hash" | "cosine" | "none";

export interface MamaNetworkOptions {
  channels: number;
  memory: MemoryKind;
  hash: HashKind;
  memorySize: number;
  hashBits: number;
  candidates: number;
  temperature: number;
  attention: boolean;
}

const ENCODER_WIDTHS = [32, 64, 128, 256] as const;
const DECODER_WIDTHS = [128, 64, 32, 16] as const;
export const CODE_CHANNELS = 256;

export interface MamaForward {
  reconstruction: Tensor;
  /** The encoder's code z [B, 256, h, w] (before the memory). */
  code: Tensor;
}

export class MamaNetwork extends Module {
  private readonly encoder: Msgsa[] = [];
  private readonly decoder: Msgsa[] = [];
  readonly memory: HashMemory | Memory | undefined;
  readonly output: Conv2d;

  constructor(
    rng: Random,
    readonly options: MamaNetworkOptions,
  ) {
    super();
    const attention = options.attention;
    ENCODER_WIDTHS.forEach((out, i) => {
      const input = i === 0 ? options.channels : ENCODER_WIDTHS[i - 1];
      this.encoder.push(
        this.child(`da${i + 1}`, new Msgsa(rng, { in: input, out, mode: "down", attention })),
      );
    });
    this.encoder.push(
      this.child("sa", new Msgsa(rng, { in: CODE_CHANNELS, out: CODE_CHANNELS, mode: "same", attention })),
    );
    if (options.memory === "hash") {
      this.memory = this.child(
        "memory",
        new HashMemory(rng, {
          slots: options.memorySize,
          channels: CODE_CHANNELS,
          bits: options.hashBits,
          candidates: options.candidates,
          temperature: options.temperature,
          hash: options.hash,
        }),
      );
    } else if (options.memory === "cosine") {
      this.memory = this.child(
        "memory",
        new Memory(rng, {
          slots: options.memorySize,
          channels: CODE_CHANNELS,
          addressing: "cosine",
          shrink: { threshold: 0 },
        }),
      );
    }
    DECODER_WIDTHS.forEach((out, i) => {
      const input = i === 0 ? CODE_CHANNELS : DECODER_WIDTHS[i - 1];
      this.decoder.push(this.child(`ua${i + 1}`, new Msgsa(rng, { in: input, out, mode: "up", attention })));
    });
    this.output = this.child(
      "out",
      new Conv2d(rng, {
        in: DECODER_WIDTHS[DECODER_WIDTHS.length - 1],
        out: options.channels,
        kernel: 3,
        padding: 1,
      }),
    );
  }

  /** The memory's read of every position of z (z itself without a memory). */
  recall(z: Tensor): Tensor {
    if (!this.memory) return z;
    const [n, c, h, w] = z.shape;
    const queries = T.reshape(T.transpose(z, [0, 2, 3, 1]), [n * h * w, c]);
    const read = this.memory.forward(queries).output;
    return T.transpose(T.reshape(read, [n, h, w, c]), [0, 3, 1, 2]);
  }

  forward(x: Tensor): MamaForward {
    const code = this.encoder.reduce((h, block) => block.forward(h), x);
    const decoded = this.decoder.reduce((h, block) => block.forward(h), this.recall(code));
    return { reconstruction: sigmoid(this.output.forward(decoded)), code };
  }
}
