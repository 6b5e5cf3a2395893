/**
 * Residual bottleneck block (ResNet-50 layout) with optional dilation and squeeze-and-excitation, as
 * drawn for Multi-AD's student (methods.md §7.1 Fig. 2 and the SE-block figure, §7.2):
 *
 *   y = ReLU(BN(Conv1×1 inner→out)(ReLU(BN(Conv3×3 s, d, p = d)(ReLU(BN(Conv1×1 in→inner)(x))))) + shortcut(x))
 *   y ← SE(y)            (after the addition, unlike the standard SE-ResNet; `se: false` drops it)
 *
 * The stride and dilation act on the 3×3 conv (padding = dilation, so a stride-2 block halves even
 * sides); the shortcut is Conv1×1 (stride s, no bias) + BN when the width or the side changes, else
 * the identity. Convs have no bias (torchvision's ResNet); batch norms are the PyTorch defaults.
 */
import type { Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import type { Random } from "../../util/random.js";
import { Layer, type LayerOptions } from "../layer.js";
import { BatchNorm2d, Conv2d } from "../layers.js";
import { SqueezeExcitation } from "./se.js";

export interface BottleneckOptions extends LayerOptions {
  in: number;
  /** Width of the 1×1 reduction and the 3×3 conv. */
  inner: number;
  out: number;
  stride?: number;
  dilation?: number;
  /** Squeeze-and-excitation after the residual addition (default true). */
  se?: boolean;
  /** SE reduction ratio r (default 16). */
  seReduction?: number;
}

export class Bottleneck extends Layer {
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm2d;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm2d;
  private readonly conv3: Conv2d;
  private readonly bn3: BatchNorm2d;
  private readonly shortcut: { conv: Conv2d; bn: BatchNorm2d } | undefined;
  readonly se: SqueezeExcitation | undefined;

  constructor(rng: Random, options: BottleneckOptions) {
    super(options.name);
    const stride = options.stride ?? 1;
    const dilation = options.dilation ?? 1;
    this.conv1 = this.child(
      "conv1",
      new Conv2d(rng, { in: options.in, out: options.inner, kernel: 1, bias: false }),
    );
    this.bn1 = this.child("bn1", new BatchNorm2d(options.inner));
    this.conv2 = this.child(
      "conv2",
      new Conv2d(rng, {
        in: options.inner,
        out: options.inner,
        kernel: 3,
        stride,
        dilation,
        padding: dilation,
        bias: false,
      }),
    );
    this.bn2 = this.child("bn2", new BatchNorm2d(options.inner));
    this.conv3 = this.child(
      "conv3",
      new Conv2d(rng, { in: options.inner, out: options.out, kernel: 1, bias: false }),
    );
    this.bn3 = this.child("bn3", new BatchNorm2d(options.out));
    if (stride !== 1 || options.in !== options.out) {
      this.shortcut = {
        conv: this.child(
          "downsample_conv",
          new Conv2d(rng, { in: options.in, out: options.out, kernel: 1, stride, bias: false }),
        ),
        bn: this.child("downsample_bn", new BatchNorm2d(options.out)),
      };
    }
    if (options.se ?? true)
      this.se = this.child(
        "se",
        new SqueezeExcitation(rng, { channels: options.out, reduction: options.seReduction }),
      );
  }

  forward(x: Tensor): Tensor {
    let y = T.relu(this.bn1.forward(this.conv1.forward(x)));
    y = T.relu(this.bn2.forward(this.conv2.forward(y)));
    y = this.bn3.forward(this.conv3.forward(y));
    const identity = this.shortcut ? this.shortcut.bn.forward(this.shortcut.conv.forward(x)) : x;
    y = T.relu(T.add(y, identity));
    return this.se ? this.se.forward(y) : y;
  }
}
