/**
 * MobileNet v1 (Keras Applications, alpha 0.75, ImageNet; methods.md §7.2 sanctioned teacher) as a
 * frozen graph of the engine's tensor API: conv1 3×3 s2, then 13 blocks of depthwise 3×3 conv and
 * pointwise 1×1 conv, each conv followed by an evaluation-mode batch norm (eps 1e-3, running
 * statistics) and ReLU6; every conv uses TensorFlow "same" padding (for stride 2 on an even side the
 * extra row and column go bottom/right), as the pretrained weights assume. Optional classifier head:
 * global average pool → conv_preds 1×1 (with bias) → 1000 ImageNet logits.
 *
 * Input: images N×3×H×W in [0, 1] (RGB), mapped to the model's [−1, 1] (x·2 − 1 = pixel/127.5 − 1).
 * Parameter paths equal the tensor names of `weights/mobilenet_v1_0.75.safetensors`, written by
 * scripts/convert-mobilenet.ts from the TF.js layers files (Keras names, PyTorch layouts). Every
 * tensor is a buffer and the module never leaves evaluation mode (`train()` is ignored).
 */
import type { Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import { Module } from "../../engine/index.js";
import { Random } from "../../util/random.js";
import { BatchNorm2d, Conv2d } from "../layers.js";

/** Keras MobileNet v1 at alpha 1: [pointwise output width, depthwise stride] of blocks 1..13. */
const BLOCKS_ALPHA_1: ReadonlyArray<readonly [number, 1 | 2]> = [
  [64, 1],
  [128, 2],
  [128, 1],
  [256, 2],
  [256, 1],
  [512, 2],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [1024, 2],
  [1024, 1],
];

export const IMAGENET_CLASSES = 1000;

export interface MobileNetV1Options {
  /** Width multiplier (0.75 for the shipped weights). */
  alpha: number;
  /** Build the ImageNet classifier head (conv_preds). */
  classifier?: boolean;
}

/** Layer plan: names, widths and strides, shared with the conversion script's topology check. */
export function mobileNetV1Plan(alpha: number) {
  const stemWidth = Math.round(32 * alpha);
  let width = stemWidth;
  const blocks = BLOCKS_ALPHA_1.map(([outAlpha1, stride], i) => {
    const block = { index: i + 1, in: width, out: Math.round(outAlpha1 * alpha), stride };
    width = block.out;
    return block;
  });
  return { stemWidth, blocks, outWidth: width };
}

interface ConvUnit {
  /** Keras name of the conv; its batch norm is `<name>_bn`, its activation `<name>_relu`. */
  name: string;
  conv: Conv2d;
  bn: BatchNorm2d;
}

export class MobileNetV1 extends Module {
  private readonly units: ConvUnit[] = [];
  private readonly head: Conv2d | undefined;

  constructor(options: MobileNetV1Options) {
    super();
    const plan = mobileNetV1Plan(options.alpha);
    this.addUnit("conv1", { in: 3, out: plan.stemWidth, kernel: 3, stride: 2 });
    for (const b of plan.blocks) {
      this.addUnit(`conv_dw_${b.index}`, { in: b.in, out: b.in, kernel: 3, stride: b.stride, groups: b.in });
      this.addUnit(`conv_pw_${b.index}`, { in: b.in, out: b.out, kernel: 1, stride: 1 });
    }
    if (options.classifier) {
      this.head = this.child(
        "conv_preds",
        new Conv2d(new Random(0), { in: plan.outWidth, out: IMAGENET_CLASSES, kernel: 1, frozen: true }),
      );
    }
  }

  /** Frozen conv ("same" padding, no bias) and frozen batch norm (eps 1e-3) under Keras names. */
  private addUnit(
    name: string,
    options: { in: number; out: number; kernel: number; stride: number; groups?: number },
  ): void {
    // The initial values are placeholders, replaced by the pretrained weights.
    const conv = this.child(
      name,
      new Conv2d(new Random(0), { ...options, padding: "same", bias: false, frozen: true }),
    );
    const bn = this.child(`${name}_bn`, new BatchNorm2d(options.out, { eps: 1e-3, frozen: true }));
    this.units.push({ name, conv, bn });
  }

  /** A pretrained teacher never trains: the mode stays evaluation whatever is asked. */
  override train(_mode = true): this {
    return super.train(false);
  }

  /**
   * The activations `<unit>_relu` named in `taps` (e.g. "conv_pw_3"), in the order asked, of images
   * N×3×H×W in [0, 1]; the forward stops at the last tap.
   */
  features(images: Tensor, taps: readonly string[]): Tensor[] {
    const wanted = new Map(taps.map((t, i) => [t, i]));
    for (const t of taps)
      if (!this.units.some((u) => u.name === t)) throw new Error(`MobileNetV1: no layer "${t}"`);
    const out: Tensor[] = new Array(taps.length);
    let x = T.sub(T.mul(images, 2), 1);
    let found = 0;
    for (const { name, conv, bn } of this.units) {
      x = T.relu6(bn.forward(conv.forward(x)));
      const at = wanted.get(name);
      if (at !== undefined) {
        out[at] = x;
        if (++found === taps.length) break;
      }
    }
    return out;
  }

  /** ImageNet logits N×1000 (needs `classifier: true`). */
  logits(images: Tensor): Tensor {
    if (!this.head) throw new Error("MobileNetV1: built without the classifier head");
    const [last] = this.features(images, [this.units[this.units.length - 1].name]);
    const pooled = T.mean(last, [2, 3], true);
    return T.reshape(this.head.forward(pooled), [images.shape[0], IMAGENET_CLASSES]);
  }
}
