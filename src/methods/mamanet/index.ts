/**
 * MAMA Net — Multi-scale Attention Memory Autoencoder with hash addressing (Chen et al., IEEE TMI
 * 40(3), 2021; methods.md §5). No official code exists: the abstract fixes the components (MSGSA blocks
 * as the sampling functions, a hash-addressing memory, MSE + a Wasserstein loss, anomaly = high
 * reconstruction error) and the design is ours, as written in §5.2–§5.5:
 *
 * - network.ts: MSGSA encoder, hash memory on every position of the 256-channel code, MSGSA decoder,
 *   sigmoid output; input in [0, 1], one channel (§1.6).
 * - Loss (§5.3): mean((x̂ − x)²) + λ_W·W, λ_W = 0.1. `wassersteinTarget: "latent"` (default) compares
 *   the batch's per-position codes {z_b,y,x} (B·h·w points in R^256) with as many fresh N(0, I) samples
 *   (drawn per batch from the run's seeded generator, fed as a graph input) by the debiased Sinkhorn
 *   divergence (ground cost ‖a − b‖²/(2C), ε = 0.05, 50 log-domain iterations unrolled in the graph) or,
 *   with `wassersteinEstimator: "sliced"`, the sliced W₂² over 64 fresh random directions; `"pixels"`
 *   is the exact 1-D W₂² between the sorted intensities of x and x̂ of each image.
 *   `sinkhornGradient: "unrolled"` differentiates through the iterations; `"last-step"` uses the
 *   envelope gradient of the converged dual (divergences.ts), which keeps no iterate for the backward
 *   pass. [ours] The code passes through the SA block's LeakyReLU(0.2) before the attention sum, so it
 *   cannot be exactly Gaussian; the term pulls its per-position distribution towards N(0, I) as far as
 *   it can.
 * - Schedule (§5.4): Adam lr 1e-4, β = (0.9, 0.999), batch 16, 200 epochs, no scheduler, no augmentation.
 * - Scoring (§5.5): the pixel map is the per-pixel squared error, Gaussian σ = 4 px; the image score is
 *   the mean of the unsmoothed map (= the image's mean squared error) [paper: "higher reconstruction
 *   error"].
 * - Ablations: `memory: "hash" | "cosine" | "none"`, `attention: false` (γ frozen at 0: plain
 *   resampling blocks), `wassersteinWeight: 0`, and `hash: "learned"`.
 */
import { z } from "zod";
import type { Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import { mse, sinkhornDivergence, slicedWasserstein, wasserstein1d } from "../../nn/index.js";
import { Adam } from "../../nn/optim.js";
import type { Random } from "../../util/random.js";
import type { MethodDefinition, MethodInstance } from "../contract.js";
import { OptimizedLoss } from "../shared/optimized-loss.js";
import { CODE_CHANNELS, MamaNetwork } from "./network.js";

export const mamanetConfigSchema = z
  .object({
    memory: z.enum(["hash", "cosine", "none"]).default("hash"),
    hash: z.enum(["random", "learned"]).default("random"),
    memorySize: z.number().int().positive().default(500),
    hashBits: z.number().int().positive().default(32),
    /** Candidates k read per query. */
    candidates: z.number().int().positive().default(8),
    temperature: z.number().positive().default(0.1),
    /** false: MSGSA blocks without attention (γ frozen at 0). */
    attention: z.boolean().default(true),
    wassersteinWeight: z.number().min(0).default(0.1),
    wassersteinTarget: z.enum(["latent", "pixels"]).default("latent"),
    wassersteinEstimator: z.enum(["sinkhorn", "sliced"]).default("sinkhorn"),
    sinkhornEpsilon: z.number().positive().default(0.05),
    sinkhornIterations: z.number().int().positive().default(50),
    sinkhornGradient: z.enum(["unrolled", "last-step"]).default("unrolled"),
    slicedDirections: z.number().int().positive().default(64),
    lr: z.number().positive().default(1e-4),
    smoothingSigma: z.number().min(0).default(4),
  })
  .strict()
  .refine((config) => config.memory !== "hash" || config.candidates <= config.memorySize, {
    path: ["candidates"],
    message: "must not exceed memorySize (the hash memory reads k of its N rows)",
  });

export type MamaNetConfig = z.infer<typeof mamanetConfigSchema>;

/** Down-sampling factor of the encoder (four stride-2 blocks). */
const STRIDE = 16;

function normals(random: Random, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = random.normal();
  return out;
}

export const mamanetMethod: MethodDefinition<MamaNetConfig> = {
  name: "mamanet",
  summary: "multi-scale attention memory autoencoder with hash addressing (MAMA Net, our reimplementation)",
  configSchema: mamanetConfigSchema,
  channels: () => 1,
  checkImageSize: (_config, size) =>
    size % STRIDE === 0 && size >= 64
      ? undefined
      : "MAMA Net needs a side divisible by 16 and at least 64 (a code of at least 4×4 positions)",
  defaults: { epochs: 200, batchSize: 16, imageSize: 128 },
  scoring: (config) => ({
    smoothingSigma: config.smoothingSigma,
    imageScore: "map-mean",
    imageScoreFromSmoothed: false,
    notes: ["MAMA Net pixel maps (squared error, smoothed) are our extension; the paper scores images only"],
  }),
  create(config, context): MethodInstance {
    const network = new MamaNetwork(context.random, { channels: context.channels, ...config });
    const side = context.imageSize / STRIDE;
    const positions = side * side;
    const latent = config.wassersteinWeight > 0 && config.wassersteinTarget === "latent";
    const sliced = latent && config.wassersteinEstimator === "sliced";
    const inputs: Record<string, number[]> = {
      images: [context.channels, context.imageSize, context.imageSize],
      ...(latent ? { gaussian: [positions, CODE_CHANNELS] } : {}),
      ...(sliced ? { directions: [CODE_CHANNELS, config.slicedDirections] } : {}),
    };

    const wasserstein = (
      images: Tensor,
      reconstruction: Tensor,
      code: Tensor,
      feeds: Record<string, Tensor>,
    ) => {
      if (!latent) {
        const perImage = (t: Tensor) => T.reshape(t, [t.shape[0], t.size / t.shape[0]]);
        return T.mean(wasserstein1d(perImage(images), perImage(reconstruction)));
      }
      const [b, c, h, w] = code.shape;
      const cloud = T.reshape(T.transpose(code, [0, 2, 3, 1]), [b * h * w, c]);
      const target = T.reshape(feeds.gaussian, [b * h * w, c]);
      if (sliced) {
        // One set of directions per batch: the first item's share of the per-item feed.
        const directions = T.reshape(T.slice(feeds.directions, [{ axis: 0, start: 0, end: 1 }]), [
          c,
          config.slicedDirections,
        ]);
        return slicedWasserstein(cloud, target, directions);
      }
      return sinkhornDivergence(cloud, target, {
        epsilon: config.sinkhornEpsilon,
        iterations: config.sinkhornIterations,
        costScale: 1 / (2 * c),
        gradient: config.sinkhornGradient,
      });
    };

    const training = new OptimizedLoss({
      name: "mamanet",
      modules: [network],
      optimizer: new Adam({ lr: config.lr }),
      inputs,
      build: (feeds): { loss: Tensor; extraOutputs: Record<string, Tensor> } => {
        const { reconstruction, code } = network.forward(feeds.images);
        const reconstructionLoss = mse(reconstruction, feeds.images);
        if (config.wassersteinWeight === 0)
          return { loss: reconstructionLoss, extraOutputs: { mse: reconstructionLoss } };
        const distance = wasserstein(feeds.images, reconstruction, code, feeds);
        return {
          loss: T.add(reconstructionLoss, T.mul(distance, config.wassersteinWeight)),
          extraOutputs: { mse: reconstructionLoss, wasserstein: distance },
        };
      },
    });

    return {
      modules: { mamanet: network },
      async trainBatch(images, batchSize, context) {
        const feeds: Record<string, Float32Array> = { images };
        if (latent) feeds.gaussian = normals(context.random, batchSize * positions * CODE_CHANNELS);
        if (sliced)
          feeds.directions = normals(context.random, batchSize * CODE_CHANNELS * config.slicedDirections);
        const { loss, outputs } = await training.run(feeds, batchSize);
        const report: Record<string, number> = { loss, mse: (outputs.mse as Float32Array)[0] };
        if (outputs.wasserstein) report.wasserstein = (outputs.wasserstein as Float32Array)[0];
        return report;
      },
      buildInference(images) {
        const { reconstruction } = network.forward(images);
        return { map: T.mean(T.square(T.sub(reconstruction, images)), 1, true) };
      },
      optimizerState: () => training.state(),
      loadOptimizerState: (state) => training.load(state),
      dispose: () => training.dispose(),
    };
  },
};
