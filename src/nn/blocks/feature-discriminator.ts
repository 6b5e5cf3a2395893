/**
 * Discriminator on feature maps (Multi-AD, methods.md §7.2, paper Fig. 3): four Conv3×3 s1 p1 layers
 * (C → 128 → 256 → 512 → 1024 by default), each followed by BN and LeakyReLU(0.2); dropout (p = 0.3);
 * flatten (1024·side²); Linear → one logit (pair it with BCE-with-logits instead of a sigmoid). Strides,
 * slope and dropout rate are not given by the paper [ours]; PyTorch default initialisation.
 *
 * Dropout acts in training mode only, with a keep-mask fed by the caller (`dropoutShape` gives its
 * shape), so randomness comes from the host's seeded generator (engine.md §3.5).
 */
import type { Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import type { Random } from "../../util/random.js";
import { Layer, type LayerOptions } from "../layer.js";
import { BatchNorm2d, Conv2d, dropout, Linear } from "../layers.js";

export interface FeatureDiscriminatorOptions extends LayerOptions {
  /** Channels of the input feature map. */
  channels: number;
  /** Side of the (square) input feature map. */
  side: number;
  widths?: readonly number[];
  slope?: number;
  dropout?: number;
}

export class FeatureDiscriminator extends Layer {
  private readonly convs: Conv2d[];
  private readonly norms: BatchNorm2d[];
  private readonly classifier: Linear;
  private readonly slope: number;
  readonly dropout: number;
  private readonly flatSize: number;

  constructor(rng: Random, options: FeatureDiscriminatorOptions) {
    super(options.name);
    const widths = options.widths ?? [128, 256, 512, 1024];
    this.slope = options.slope ?? 0.2;
    this.dropout = options.dropout ?? 0.3;
    this.convs = widths.map((out, i) =>
      this.child(
        `conv${i}`,
        new Conv2d(rng, { in: i === 0 ? options.channels : widths[i - 1], out, kernel: 3, padding: 1 }),
      ),
    );
    this.norms = widths.map((out, i) => this.child(`bn${i}`, new BatchNorm2d(out)));
    this.flatSize = widths[widths.length - 1] * options.side * options.side;
    this.classifier = this.child("classifier", new Linear(rng, { in: this.flatSize, out: 1 }));
  }

  /** Shape of the keep-mask for a batch of `batch` maps. */
  dropoutShape(batch: number): number[] {
    return [batch, this.flatSize];
  }

  /** Logits [B, 1] of feature maps [B, C, side, side]; `keepMask` is required in training mode. */
  forward(features: Tensor, keepMask?: Tensor): Tensor {
    let x = features;
    this.convs.forEach((conv, i) => {
      x = T.leakyRelu(this.norms[i].forward(conv.forward(x)), this.slope);
    });
    let flat = T.flatten(x, 1);
    if (this.training && this.dropout > 0) {
      if (!keepMask) throw new Error(`${this.path()}: training mode needs a dropout keep-mask`);
      flat = dropout(flat, keepMask, this.dropout);
    }
    return this.classifier.forward(flat);
  }
}
