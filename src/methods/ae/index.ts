/**
 * AE — the convolutional autoencoder baseline (methods.md §2): the network of §2.1 (network.ts),
 * loss `mse` (default), `ssim` or `mse+ssim` (§2.2), Adam lr 1e-3, batch 16, 100 epochs, no
 * augmentation (§2.3). Scoring (§2.4): the pixel map is the squared error averaged over channels
 * (`mse`) or 1 − SSIM (`ssim`, `mse+ssim`), smoothed with a Gaussian of σ = 4 px; the image score is the
 * mean of the unsmoothed map (default) or the max of the smoothed map.
 */
import { z } from "zod";
import type { Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import { mse, ssimLoss, ssimMap } from "../../nn/losses.js";
import { Adam } from "../../nn/optim.js";
import type { MethodDefinition, MethodInstance } from "../contract.js";
import { OptimizedLoss } from "../shared/optimized-loss.js";
import { ConvAutoencoder } from "./network.js";

export const aeConfigSchema = z
  .object({
    loss: z.enum(["mse", "ssim", "mse+ssim"]).default("mse"),
    lr: z.number().positive().default(1e-3),
    imageScore: z.enum(["map-mean", "map-max"]).default("map-mean"),
    smoothingSigma: z.number().min(0).default(4),
    /** Convert colour data to one channel (the networks of §2.1 take 1 or 3). */
    grayscale: z.boolean().default(false),
  })
  .strict();

export type AeConfig = z.infer<typeof aeConfigSchema>;

/** Per-pixel anomaly map N×1×H×W of a reconstruction. */
function reconstructionMap(x: Tensor, reconstruction: Tensor, loss: AeConfig["loss"]): Tensor {
  if (loss === "mse") return T.mean(T.square(T.sub(reconstruction, x)), 1, true);
  return T.sub(1, T.mean(ssimMap(x, reconstruction), 1, true));
}

function lossOf(x: Tensor, reconstruction: Tensor, loss: AeConfig["loss"]): Tensor {
  if (loss === "mse") return mse(reconstruction, x);
  if (loss === "ssim") return ssimLoss(x, reconstruction);
  return T.add(mse(reconstruction, x), ssimLoss(x, reconstruction));
}

export const aeMethod: MethodDefinition<AeConfig> = {
  name: "ae",
  summary: "convolutional autoencoder baseline (reconstruction error)",
  configSchema: aeConfigSchema,
  channels: (config, dataChannels) => (config.grayscale || dataChannels === 1 ? 1 : 3),
  checkImageSize: (_config, size) => (size % 16 === 0 ? undefined : "the AE needs a side divisible by 16"),
  defaults: { epochs: 100, batchSize: 16, imageSize: 128 },
  scoring: (config) => ({
    smoothingSigma: config.smoothingSigma,
    imageScore: config.imageScore,
    imageScoreFromSmoothed: config.imageScore === "map-max",
    notes: [],
  }),
  create(config, context): MethodInstance {
    const network = new ConvAutoencoder(context.random, context.channels);
    const item = [context.channels, context.imageSize, context.imageSize];
    const training = new OptimizedLoss({
      name: "autoencoder",
      modules: [network],
      optimizer: new Adam({ lr: config.lr }),
      inputs: { images: item },
      build: ({ images }) => ({ loss: lossOf(images, network.forward(images), config.loss) }),
    });
    return {
      modules: { autoencoder: network },
      async trainBatch(images, batchSize) {
        const { loss } = await training.run({ images }, batchSize);
        return { loss };
      },
      buildInference(images) {
        return { map: reconstructionMap(images, network.forward(images), config.loss) };
      },
      optimizerState: () => training.state(),
      loadOptimizerState: (state) => training.load(state),
      dispose: () => training.dispose(),
    };
  },
};
