/**
 * SQUID's discriminator [code: models/discriminator.py SimpleDiscriminator @1bb3b70; methods.md §4.2]:
 * Conv5×5 s2 p2 1→16, LReLU(0.2); then 16→32→64→128→128, each Conv5×5 s2 p2, BN, LReLU(0.2); flatten
 * 128·(S/32)²; Linear → one logit d. PyTorch default initialisation.
 *
 * BatchNorm at test (§4.8 trap 1): the official code never switches D to evaluation mode and scores
 * with batch size 1, so at test every BN normalises each image over its own spatial positions.
 * `bnAtTest: "batch"` (default) reproduces exactly that, per image, so that a score does not depend on
 * the other images of a batch [ours: the batched equivalent of the official batch-1 behaviour];
 * `"running"` uses the running statistics. In training BN uses the batch statistics over N·H·W.
 *
 * The buffers `logit_mean` and `logit_std` hold µ and σ of d over normal training images (§4.5); they
 * are set after training and saved with the model.
 */

import type { Parameter, Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import { Module } from "../../engine/index.js";
import { BatchNorm2d, Conv2d, Linear } from "../../nn/index.js";
import type { Random } from "../../util/random.js";

const WIDTHS = [16, 32, 64, 128, 128] as const;

export type DiscriminatorBnAtTest = "batch" | "running";

export class SquidDiscriminator extends Module {
  private readonly convs: Conv2d[];
  private readonly norms: Array<BatchNorm2d | undefined>;
  private readonly regressor: Linear;
  readonly logitMean: Parameter;
  readonly logitStd: Parameter;

  constructor(
    rng: Random,
    imageSize: number,
    private readonly bnAtTest: DiscriminatorBnAtTest,
  ) {
    super();
    this.convs = WIDTHS.map((out, i) =>
      this.child(
        `conv${i}`,
        new Conv2d(rng, { in: i === 0 ? 1 : WIDTHS[i - 1], out, kernel: 5, stride: 2, padding: 2 }),
      ),
    );
    this.norms = WIDTHS.map((out, i) => (i === 0 ? undefined : this.child(`bn${i}`, new BatchNorm2d(out))));
    const side = imageSize / 2 ** WIDTHS.length;
    this.regressor = this.child(
      "regressor",
      new Linear(rng, { in: WIDTHS[WIDTHS.length - 1] * side * side, out: 1 }),
    );
    this.logitMean = this.buffer("logit_mean", [1], Float32Array.of(0));
    this.logitStd = this.buffer("logit_std", [1], Float32Array.of(1));
  }

  /** BN of each image over its own H·W positions, with the layer's γ and β (official test behaviour). */
  private perImageNorm(norm: BatchNorm2d, x: Tensor): Tensor {
    const channels = [1, norm.channels, 1, 1];
    const mean = T.mean(x, [2, 3], true);
    const centred = T.sub(x, mean);
    const variance = T.mean(T.square(centred), [2, 3], true);
    const scale = T.mul(T.rsqrt(T.add(variance, norm.eps)), T.reshape(this.use(norm.weight), channels));
    return T.add(T.mul(centred, scale), T.reshape(this.use(norm.bias), channels));
  }

  /** Logits d, [B, 1], of images [B, 1, S, S]. */
  forward(images: Tensor): Tensor {
    let x = images;
    this.convs.forEach((conv, i) => {
      x = conv.forward(x);
      const norm = this.norms[i];
      if (norm)
        x = !this.training && this.bnAtTest === "batch" ? this.perImageNorm(norm, x) : norm.forward(x);
      x = T.leakyRelu(x, 0.2);
    });
    return this.regressor.forward(T.flatten(x, 1));
  }

  /** The official image score 1 − σ((d − µ)/σ) (§4.5), [B]. */
  score(logits: Tensor): Tensor {
    const standardized = T.div(T.sub(logits, this.use(this.logitMean)), this.use(this.logitStd));
    return T.reshape(T.sub(1, T.sigmoid(standardized)), [logits.shape[0]]);
  }
}
