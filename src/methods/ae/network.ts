/**
 * The reference convolutional autoencoder (methods.md §2.1, docs/engine.md §2): four 4×4 stride-2
 * convolutions 32-64-128-256 with LeakyReLU 0.2 (batch norm on all but the first, which has a bias
 * instead), mirrored 4×4 stride-2 transposed convolutions with batch norm and ReLU, and a last
 * transposed convolution with bias and a sigmoid. 1,378,657 parameters at one channel.
 *
 * Parameter paths follow the PyTorch benchmark model (bench/engine_torch.py), whose encoder and decoder
 * are `nn.Sequential`s, so a state dict maps one to one: "encoder.0.weight", "encoder.3.running_mean",
 * "decoder.9.bias", ... (the indices skip the activation layers, which have no parameters).
 */
import { Module, type Tensor } from "../../engine/index.js";
import { BatchNorm2d, Conv2d, ConvTranspose2d, leakyRelu, relu, sigmoid } from "../../nn/layers.js";
import type { Random } from "../../util/random.js";

/** Layers registered under index names, like an `nn.Sequential` without the parameterless entries. */
class Indexed extends Module {
  constructor(layers: Record<number, Module>) {
    super();
    for (const [index, layer] of Object.entries(layers)) this.child(index, layer);
  }
}

interface EncoderStage {
  conv: Conv2d;
  norm: BatchNorm2d | undefined;
}

interface DecoderStage {
  conv: ConvTranspose2d;
  norm: BatchNorm2d | undefined;
}

export class ConvAutoencoder extends Module {
  static readonly widths = [32, 64, 128, 256] as const;
  private readonly encoderStages: EncoderStage[] = [];
  private readonly decoderStages: DecoderStage[] = [];

  constructor(
    rng: Random,
    readonly channels = 1,
  ) {
    super();
    const conv = { kernel: 4, stride: 2, padding: 1 } as const;
    const widths = ConvAutoencoder.widths;
    const encoderLayers: Record<number, Module> = {};
    let index = 0;
    widths.forEach((out, i) => {
      const withNorm = i > 0;
      const stage: EncoderStage = {
        conv: new Conv2d(rng, { in: i === 0 ? channels : widths[i - 1], out, ...conv, bias: !withNorm }),
        norm: withNorm ? new BatchNorm2d(out) : undefined,
      };
      encoderLayers[index++] = stage.conv;
      if (stage.norm) encoderLayers[index++] = stage.norm;
      index++; // LeakyReLU
      this.encoderStages.push(stage);
    });
    const decoderLayers: Record<number, Module> = {};
    index = 0;
    for (let i = widths.length - 1; i >= 0; i--) {
      const last = i === 0;
      const stage: DecoderStage = {
        conv: new ConvTranspose2d(rng, {
          in: widths[i],
          out: last ? channels : widths[i - 1],
          ...conv,
          bias: last,
        }),
        norm: last ? undefined : new BatchNorm2d(widths[i - 1]),
      };
      decoderLayers[index++] = stage.conv;
      if (stage.norm) decoderLayers[index++] = stage.norm;
      index++; // ReLU or the final sigmoid
      this.decoderStages.push(stage);
    }
    this.child("encoder", new Indexed(encoderLayers));
    this.child("decoder", new Indexed(decoderLayers));
  }

  /** The 256-channel code at 1/16 of the input size. */
  encode(x: Tensor): Tensor {
    const [h, w] = [x.shape[2], x.shape[3]];
    if (x.rank !== 4 || x.shape[1] !== this.channels || h % 16 !== 0 || w % 16 !== 0) {
      throw new Error(
        `ConvAutoencoder: input must be [N, ${this.channels}, H, W] with H and W divisible by 16, got [${x.shape.join(", ")}]`,
      );
    }
    return this.encoderStages.reduce((h, { conv, norm }) => {
      const y = conv.forward(h);
      return leakyRelu(norm ? norm.forward(y) : y, 0.2);
    }, x);
  }

  /** Reconstruction in [0, 1] from the code. */
  decode(z: Tensor): Tensor {
    return this.decoderStages.reduce((h, { conv, norm }) => {
      const y = conv.forward(h);
      return norm ? relu(norm.forward(y)) : sigmoid(y);
    }, z);
  }

  forward(x: Tensor): Tensor {
    return this.decode(this.encode(x));
  }
}
