/**
 * A small conv autoencoder for the training-step tests: Conv 4×4 s2 p1 (no bias: batch norm follows,
 * and a bias before it has an exactly zero gradient that Adam would amplify) + batch norm (batch
 * statistics in training, running statistics updated with momentum 0.1 and the unbiased variance) +
 * LeakyReLU 0.2, then ConvTranspose 4×4 s2 p1 (bias) + sigmoid; MSE reconstruction loss.
 */
import * as T from "../../src/engine/api.js";
import { Module, type Parameter } from "../../src/engine/module.js";
import { Random } from "../../src/util/random.js";

function uniform(random: Random, size: number, bound: number): Float32Array {
  return Float32Array.from({ length: size }, () => random.range(-bound, bound));
}

export class SmallAE extends Module {
  readonly encoderWeight: Parameter;
  readonly gamma: Parameter;
  readonly beta: Parameter;
  readonly runningMean: Parameter;
  readonly runningVar: Parameter;
  readonly decoderWeight: Parameter;
  readonly decoderBias: Parameter;

  constructor(
    seed: number,
    readonly channels = 1,
    readonly width = 4,
  ) {
    super();
    const random = new Random(seed);
    const k = 4;
    const fanIn = channels * k * k;
    this.encoderWeight = this.parameter(
      "encoder.weight",
      [width, channels, k, k],
      uniform(random, width * channels * k * k, 1 / Math.sqrt(fanIn)),
    );
    this.gamma = this.parameter("bn.weight", [width], new Float32Array(width).fill(1));
    this.beta = this.parameter("bn.bias", [width], new Float32Array(width));
    this.runningMean = this.buffer("bn.running_mean", [width], new Float32Array(width));
    this.runningVar = this.buffer("bn.running_var", [width], new Float32Array(width).fill(1));
    const decoderFanIn = channels * k * k;
    this.decoderWeight = this.parameter(
      "decoder.weight",
      [width, channels, k, k],
      uniform(random, width * channels * k * k, 1 / Math.sqrt(decoderFanIn)),
    );
    this.decoderBias = this.parameter("decoder.bias", [channels], uniform(random, channels, 0.1));
  }

  forward(x: T.Tensor): T.Tensor {
    const h = T.conv2d(x, this.use(this.encoderWeight), undefined, {
      stride: 2,
      padding: 1,
    });
    const perChannel = [1, this.width, 1, 1];
    let normalized: T.Tensor;
    if (this.training) {
      const mean = T.mean(h, [0, 2, 3], true);
      const centered = T.sub(h, mean);
      const variance = T.mean(T.square(centered), [0, 2, 3], true);
      normalized = T.div(centered, T.sqrt(T.add(variance, 1e-5)));
      const count = h.size / this.width;
      const flatMean = T.reshape(mean, [this.width]);
      const unbiased = T.reshape(T.mul(variance, count / (count - 1)), [this.width]);
      this.update(
        this.runningMean,
        T.add(T.mul(this.use(this.runningMean), 0.9), T.mul(T.stopGradient(flatMean), 0.1)),
      );
      this.update(
        this.runningVar,
        T.add(T.mul(this.use(this.runningVar), 0.9), T.mul(T.stopGradient(unbiased), 0.1)),
      );
    } else {
      const mean = T.reshape(this.use(this.runningMean), perChannel);
      const variance = T.reshape(this.use(this.runningVar), perChannel);
      normalized = T.div(T.sub(h, mean), T.sqrt(T.add(variance, 1e-5)));
    }
    const affine = T.add(
      T.mul(normalized, T.reshape(this.use(this.gamma), perChannel)),
      T.reshape(this.use(this.beta), perChannel),
    );
    const z = T.leakyRelu(affine, 0.2);
    return T.sigmoid(
      T.convTranspose2d(z, this.use(this.decoderWeight), this.use(this.decoderBias), {
        stride: 2,
        padding: 1,
      }),
    );
  }

  loss(x: T.Tensor): { loss: T.Tensor; recon: T.Tensor } {
    const recon = this.forward(x);
    return { loss: T.mean(T.square(T.sub(recon, x))), recon };
  }
}

/** Seeded images in [0, 1] with some structure (a bright square on a noisy background). */
export function images(seed: number, n: number, channels: number, size: number): Float32Array {
  const random = new Random(seed);
  const out = new Float32Array(n * channels * size * size);
  for (let i = 0; i < n; i++) {
    const x0 = random.int(size / 2);
    const y0 = random.int(size / 2);
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const inside = x >= x0 && x < x0 + size / 2 && y >= y0 && y < y0 + size / 2;
          out[((i * channels + c) * size + y) * size + x] = (inside ? 0.7 : 0.2) + 0.1 * random.uniform();
        }
      }
    }
  }
  return out;
}
