/**
 * SQUID's discriminator [code: models/discriminator.py SimpleDiscriminator @1bb3b70; methods.md §4.2]:
 * the shared DCGAN-style discriminator (src/nn/blocks/discriminator.ts) with Conv5×5 s2 p2 1→16, LReLU(0.2);
 * then 16→32→64→128→128, each Conv5×5 s2 p2, BN, LReLU(0.2); flatten 128·(S/32)²; Linear → one logit
 * d. PyTorch default initialisation.
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
import { DcganDiscriminator, type DiscriminatorBnAtTest } from "../../nn/index.js";
import type { Random } from "../../util/random.js";

export class SquidDiscriminator extends DcganDiscriminator {
  readonly logitMean: Parameter;
  readonly logitStd: Parameter;

  constructor(rng: Random, imageSize: number, bnAtTest: DiscriminatorBnAtTest) {
    super(rng, {
      inChannels: 1,
      widths: [16, 32, 64, 128, 128],
      kernel: 5,
      padding: 2,
      imageSize,
      head: "linear",
      bnAtTest,
    });
    this.logitMean = this.buffer("logit_mean", [1], Float32Array.of(0));
    this.logitStd = this.buffer("logit_std", [1], Float32Array.of(1));
  }

  /** The official image score 1 − σ((d − µ)/σ) (§4.5), [B]. */
  score(logits: Tensor): Tensor {
    const standardized = T.div(T.sub(logits, this.use(this.logitMean)), this.use(this.logitStd));
    return T.reshape(T.sub(1, T.sigmoid(standardized)), [logits.shape[0]]);
  }
}
