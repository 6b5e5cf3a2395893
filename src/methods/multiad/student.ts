/**
 * Multi-AD's student (methods.md §7.2, paper Fig. 2): Conv7×7 64 s2 p3 + BN + ReLU + MaxPool3×3 s2
 * p1, SE on the 64-channel stem output, then four stages of SE/dilated bottlenecks (ResNet-50 layout:
 * 3, 4, 6, 3 blocks) whose outputs are the feature taps F1–F4 at strides 4, 8, 16, 32. Stage output
 * widths equal the teacher's tap widths (inner widths = output/4); stage 1 has stride 1 and dilation
 * 1, stages 2–4 stride 2 and dilation 2, 4, 8 on the 3×3 conv of their first block (later blocks:
 * same dilation, stride 1) [ours where Fig. 2 is silent, §7.2]. `se: false` drops every SE block
 * (ablation); `dilation: false` uses dilation 1 everywhere. Randomly initialised (PyTorch defaults).
 *
 * Input: images N×3×H×W in [0, 1], mapped to [−1, 1] like the teacher's (x·2 − 1) so both networks
 * see the same values.
 */
import type { Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import { Module } from "../../engine/index.js";
import { BatchNorm2d, Bottleneck, Conv2d, SqueezeExcitation } from "../../nn/index.js";
import type { Random } from "../../util/random.js";

export const STAGE_BLOCKS = [3, 4, 6, 3] as const;
const STAGE_DILATIONS = [1, 2, 4, 8] as const;
const STEM_WIDTH = 64;

export interface StudentOptions {
  /** Output widths of the four stages (= the teacher's tap widths). */
  widths: readonly number[];
  se: boolean;
  seReduction: number;
  dilation: boolean;
}

export class MultiAdStudent extends Module {
  private readonly stemConv: Conv2d;
  private readonly stemBn: BatchNorm2d;
  private readonly stemSe: SqueezeExcitation | undefined;
  readonly stages: Bottleneck[][];

  constructor(rng: Random, options: StudentOptions) {
    super();
    this.stemConv = this.child(
      "conv1",
      new Conv2d(rng, { in: 3, out: STEM_WIDTH, kernel: 7, stride: 2, padding: 3, bias: false }),
    );
    this.stemBn = this.child("bn1", new BatchNorm2d(STEM_WIDTH));
    if (options.se)
      this.stemSe = this.child(
        "se1",
        new SqueezeExcitation(rng, { channels: STEM_WIDTH, reduction: options.seReduction }),
      );
    let width = STEM_WIDTH;
    this.stages = STAGE_BLOCKS.map((count, s) => {
      const out = options.widths[s];
      const blocks = Array.from({ length: count }, (_, b) => {
        const block = new Bottleneck(rng, {
          in: b === 0 ? width : out,
          inner: out / 4,
          out,
          stride: b === 0 && s > 0 ? 2 : 1,
          dilation: options.dilation ? STAGE_DILATIONS[s] : 1,
          se: options.se,
          seReduction: options.seReduction,
        });
        return this.child(`layer${s + 1}_${b}`, block);
      });
      width = out;
      return blocks;
    });
  }

  /** The taps F1–F4 of images N×3×H×W in [0, 1]. */
  features(images: Tensor): Tensor[] {
    let x = T.relu(this.stemBn.forward(this.stemConv.forward(T.sub(T.mul(images, 2), 1))));
    x = T.maxPool2d(x, { kernel: 3, stride: 2, padding: 1 });
    if (this.stemSe) x = this.stemSe.forward(x);
    return this.stages.map((blocks) => {
      for (const block of blocks) x = block.forward(x);
      return x;
    });
  }
}
