/**
 * DCGAN-style convolutional discriminator shared by SQUID (methods.md §4.2) and DAAD (§6.2): a stack
 * of stride-2 convolutions (kernel k, padding p) with LeakyReLU(0.2), batch norm on every layer but the
 * first, then one logit per image from the last feature map, either by a Linear over the flattened map
 * (SQUID's `SimpleDiscriminator`) or by a Conv whose kernel covers the whole map ("valid", DCGAN's head;
 * DAAD). `features` returns that last map (DAAD's semantic latent f_D). PyTorch default initialisation.
 *
 * Batch norm at test: `bnAtTest: "running"` uses the running statistics (PyTorch eval mode);
 * `"batch"` normalises each image over its own positions with the layer's γ and β — the batched
 * equivalent of the official SQUID code, which scores with D in training mode and batch size 1 (§4.8
 * trap 1). In training mode BN uses the batch statistics over N·H·W and updates the running ones.
 */

import type { Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import { Module } from "../../engine/index.js";
import type { Random } from "../../util/random.js";
import { BatchNorm2d, Conv2d, Linear } from "../layers.js";

export type DiscriminatorBnAtTest = "batch" | "running";

export interface DcganDiscriminatorOptions {
  inChannels: number;
  /** Output channels of each stride-2 convolution. */
  widths: readonly number[];
  kernel: number;
  padding: number;
  /** Input side; it must halve exactly once per convolution. */
  imageSize: number;
  /** "linear": Linear over the flattened last map (child "regressor"); "conv": a Conv over the whole map (child "head"). */
  head: "linear" | "conv";
  bnAtTest: DiscriminatorBnAtTest;
}

export class DcganDiscriminator extends Module {
  private readonly convs: Conv2d[];
  private readonly norms: Array<BatchNorm2d | undefined>;
  private readonly head: Linear | Conv2d;

  constructor(
    rng: Random,
    readonly options: DcganDiscriminatorOptions,
  ) {
    super();
    const { widths, kernel, padding, imageSize } = options;
    const side = imageSize / 2 ** widths.length;
    if (!Number.isInteger(side))
      throw new Error(`discriminator: the side ${imageSize} must be divisible by ${2 ** widths.length}`);
    this.convs = widths.map((out, i) =>
      this.child(
        `conv${i}`,
        new Conv2d(rng, {
          in: i === 0 ? options.inChannels : widths[i - 1],
          out,
          kernel,
          stride: 2,
          padding,
        }),
      ),
    );
    this.norms = widths.map((out, i) => (i === 0 ? undefined : this.child(`bn${i}`, new BatchNorm2d(out))));
    const last = widths[widths.length - 1];
    this.head =
      options.head === "linear"
        ? this.child("regressor", new Linear(rng, { in: last * side * side, out: 1 }))
        : this.child("head", new Conv2d(rng, { in: last, out: 1, kernel: side, padding: "valid" }));
  }

  /** BN of each image over its own H·W positions, with the layer's γ and β (SQUID's official test behaviour). */
  private perImageNorm(norm: BatchNorm2d, x: Tensor): Tensor {
    const channels = [1, norm.channels, 1, 1];
    const mean = T.mean(x, [2, 3], true);
    const centred = T.sub(x, mean);
    const variance = T.mean(T.square(centred), [2, 3], true);
    const scale = T.mul(T.rsqrt(T.add(variance, norm.eps)), T.reshape(this.use(norm.weight), channels));
    return T.add(T.mul(centred, scale), T.reshape(this.use(norm.bias), channels));
  }

  /** The last feature map [B, widths.at(-1), side, side] of images [B, inChannels, S, S]. */
  features(images: Tensor): Tensor {
    let x = images;
    this.convs.forEach((conv, i) => {
      x = conv.forward(x);
      const norm = this.norms[i];
      if (norm)
        x =
          !this.training && this.options.bnAtTest === "batch" ? this.perImageNorm(norm, x) : norm.forward(x);
      x = T.leakyRelu(x, 0.2);
    });
    return x;
  }

  /** Logits [B, 1] of a last feature map. */
  logits(features: Tensor): Tensor {
    if (this.head instanceof Linear) return this.head.forward(T.flatten(features, 1));
    return T.flatten(this.head.forward(features), 1);
  }

  /** Logits d, [B, 1], of images. */
  forward(images: Tensor): Tensor {
    return this.logits(this.features(images));
  }
}
