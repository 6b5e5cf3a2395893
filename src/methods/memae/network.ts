/**
 * MemAE "official-2d" network (methods.md §3.1, [ours] 2-D analogue of the official 3-D video network
 * of donggong1/memae-anomaly-detection models/memae_3dconv.py @ceece77): four Conv 3×3 s2 p1 layers
 * C→96→128→256→256 with BN + LeakyReLU(0.2); a memory read (§1.2) at every spatial position of the
 * 256-channel code (the block read of `Memory` with block side 1); four ConvTranspose 3×3 s2 p1 op1 layers 256→256→128→96→C, BN + LeakyReLU(0.2)
 * except the last (no BN, no activation). Initialisation [code: utils/utils.py]: conv weights
 * N(0, 0.02), BN γ ~ N(1, 0.02), β = 0; conv biases keep PyTorch's default; memory U(−1/√C, 1/√C).
 */

import { Module, type Tensor } from "../../engine/index.js";
import {
  type Addressing,
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  leakyRelu,
  Memory,
  type MemoryReadResult,
  normal,
} from "../../nn/index.js";
import type { Random } from "../../util/random.js";

export interface MemAeNetworkOptions {
  channels: number;
  memorySize: number;
  shrinkThreshold: number;
  addressing: Addressing;
}

const WIDTHS = [96, 128, 256, 256] as const;

class Stage extends Module {
  readonly conv: Conv2d | ConvTranspose2d;
  readonly norm: BatchNorm2d | undefined;

  constructor(rng: Random, conv: Conv2d | ConvTranspose2d, normalise: boolean) {
    super();
    this.conv = this.child("conv", conv);
    conv.weight.assign(normal(rng, conv.weight.shape, 0.02));
    if (normalise) {
      this.norm = this.child("bn", new BatchNorm2d(conv.options.out));
      this.norm.weight.assign(normal(rng, this.norm.weight.shape, 0.02, 1));
    }
  }

  forward(x: Tensor): Tensor {
    const y = this.conv.forward(x);
    return this.norm ? leakyRelu(this.norm.forward(y), 0.2) : y;
  }
}

export class MemAeNetwork extends Module {
  private readonly encoder: Stage[] = [];
  private readonly decoder: Stage[] = [];
  readonly memory: Memory;

  constructor(
    rng: Random,
    readonly options: MemAeNetworkOptions,
  ) {
    super();
    const kernel = { kernel: 3, stride: 2, padding: 1 } as const;
    WIDTHS.forEach((out, i) => {
      const input = i === 0 ? options.channels : WIDTHS[i - 1];
      this.encoder.push(
        this.child(`encoder${i + 1}`, new Stage(rng, new Conv2d(rng, { in: input, out, ...kernel }), true)),
      );
    });
    const code = WIDTHS[WIDTHS.length - 1];
    this.memory = this.child(
      "memory",
      new Memory(rng, {
        slots: options.memorySize,
        channels: code,
        shrink: { threshold: options.shrinkThreshold },
        addressing: options.addressing,
      }),
    );
    const decoderWidths = [...WIDTHS].reverse();
    decoderWidths.forEach((input, i) => {
      const last = i === decoderWidths.length - 1;
      const out = last ? options.channels : decoderWidths[i + 1];
      const conv = new ConvTranspose2d(rng, { in: input, out, ...kernel, outputPadding: 1 });
      this.decoder.push(this.child(`decoder${i + 1}`, new Stage(rng, conv, !last)));
    });
  }

  /** Reconstruction (normalised space) and the memory weights of every position [N·h·w, memorySize]. */
  forward(x: Tensor): { reconstruction: Tensor; read: MemoryReadResult } {
    const z = this.encoder.reduce((h, stage) => stage.forward(h), x);
    const read = this.memory.readBlocks(z, 1);
    const reconstruction = this.decoder.reduce((y, stage) => stage.forward(y), read.output);
    return { reconstruction, read };
  }
}
