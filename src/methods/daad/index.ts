/**
 * DAAD — Divide-and-Assemble: block-wise memories on multi-scale skips and an adversarially trained
 * semantic latent (Hou et al., ICCV 2021; methods.md §6). No official code exists; §6 is our design
 * around the paper's abstract and Figure 3, and every choice below is [ours] unless tagged.
 *
 * - Generator (network.ts, §6.2): encoder/decoder joined only through block-wise memories
 *   BM(C, b, N, C_m) at scales 3, 4, 5 [paper: Fig. 3]; default block side b = side/4 (a 4×4 grid),
 *   configurable per scale (`blocks`); N = 256 rows, C_m = 32, cosine addressing, shrink λ = 1/N.
 * - Discriminator (§6.2): the shared DCGAN-style discriminator (src/nn/blocks/discriminator.ts), Conv
 *   4×4 s2 p1 3→64→128→256→512→512 (widths as the encoder's, base width `width`; BN on all but the
 *   first, LeakyReLU(0.2)), head Conv over the whole last map → logit; that last map (512×8×8 at
 *   256 px, 512×(S/32)² in general) is the semantic
 *   latent f_D [paper: "semantic latent representation of the discriminator"]. DCGAN initialisation.
 * - Input: 3 channels (grayscale replicated by the loader), x = 2·I − 1 ∈ [−1, 1]; tanh output.
 * - Losses (§6.3): generator L = mse(x̂, x) + 0.01·BCE(D(x̂), 1) + 0.1·mean((f_D(x) − f_D(x̂))²)
 *   + 0.0002·Σ_scales entropy(w); the discriminator is frozen in the generator step (`traceFrozen`:
 *   parameters behind a stop-gradient, no running-statistics update), so neither the adversarial nor
 *   the latent term sends gradient into it, and f_D(x) is a constant target. Discriminator
 *   L_D = BCE(D(x), 1) + BCE(D(sg(x̂)), 0), with the generator frozen likewise.
 * - Schedule (§6.4): per batch one discriminator step, then one generator step (two fresh forwards of
 *   the generator in training mode; its running statistics are updated by the generator step only);
 *   Adam lr 2e-4, β = (0.5, 0.999) for both; batch 16; 200 epochs; no scheduler; no augmentation.
 *   In the discriminator step D runs on x̂ and then on x; the engine keeps one running-statistics
 *   update per step, the real batch's (PyTorch would blend both in sequence).
 * - Score (§6.5): R(x) = mean squared error, L(x) = mean((f_D(x) − f_D(x̂))²) in evaluation mode;
 *   s = 0.5·(R − µ_R)/σ_R + 0.5·(L − µ_L)/σ_L with µ, σ (population std, floored at 1e-12) over the
 *   training images, computed in `finishTraining` and saved as buffers of `statistics`. Without the
 *   discriminator (`adversarial: false`) s = (R − µ_R)/σ_R. Pixel map: squared error averaged over
 *   channels, smoothed by the scorer with σ = 4 px; `latentMap: true` adds the channel-mean squared
 *   latent difference, bilinearly upsampled, each map standardised with its training mean and std
 *   (over all pixels of all training images), weights 0.5/0.5. Pixel maps are our extension.
 * - `{"memory": false, "adversarial": false}` is the paper's same-size vanilla autoencoder.
 *
 * Not implemented: horizontal-flip augmentation for textures (§6.4, optional).
 */
import { z } from "zod";
import type { Parameter, Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import { compileFunction, Module, ModuleGroup } from "../../engine/index.js";
import { DcganDiscriminator } from "../../nn/index.js";
import { Adam } from "../../nn/optim.js";
import type { Random } from "../../util/random.js";
import type { ImageBatch, MethodDefinition, MethodInstance } from "../contract.js";
import { OptimizedLoss } from "../shared/optimized-loss.js";
import { discriminatorLoss, generatorTerms } from "./losses.js";
import {
  DaadGenerator,
  dcganInitialise,
  defaultBlock,
  encoderWidths,
  MEMORY_SCALES,
  type MemoryScale,
  mapSide,
} from "./network.js";

const blockSide = z.number().int().positive();

export const daadConfigSchema = z
  .object({
    memory: z.boolean().default(true),
    /** Base width w of the generator and the discriminator (64 in §6.2; smaller only for tests). */
    width: z.number().int().positive().default(64),
    adversarial: z.boolean().default(true),
    /** Block side per memory scale; a missing scale uses side/4 (see `defaultBlock`). */
    blocks: z
      .object({ scale3: blockSide, scale4: blockSide, scale5: blockSide })
      .partial()
      .strict()
      .default({}),
    memorySize: z.number().int().positive().default(256),
    reducedChannels: z.number().int().positive().default(32),
    /** Hard-shrinkage λ; default 1/memorySize. */
    shrinkThreshold: z.number().min(0).optional(),
    addressing: z.enum(["cosine", "dot"]).default("cosine"),
    adversarialWeight: z.number().min(0).default(0.01),
    latentWeight: z.number().min(0).default(0.1),
    entropyWeight: z.number().min(0).default(0.0002),
    lr: z.number().positive().default(2e-4),
    betas: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).default([0.5, 0.999]),
    /** Weight β of the reconstruction term in the image score (1 − β for the latent term). */
    scoreMix: z.number().min(0).max(1).default(0.5),
    latentMap: z.boolean().default(false),
    smoothingSigma: z.number().min(0).default(4),
  })
  .strict();

export type DaadConfig = z.infer<typeof daadConfigSchema>;

/** Floor of σ in the standardisations [ours]. */
const MIN_STD = 1e-12;

/** Block side per scale for an input side: the configured one, else the default rule. */
export function blockSizes(config: DaadConfig, imageSize: number): Record<MemoryScale, number> {
  const sides = Object.fromEntries(
    MEMORY_SCALES.map((scale) => [
      scale,
      config.blocks[`scale${scale}`] ?? defaultBlock(mapSide(imageSize, scale)),
    ]),
  );
  return sides as Record<MemoryScale, number>;
}

function imageSizeProblem(config: DaadConfig, size: number): string | undefined {
  if (size % 32 !== 0 || size < 32) return "DAAD needs a side that is a positive multiple of 32";
  if (!config.memory) return undefined;
  const blocks = blockSizes(config, size);
  for (const scale of MEMORY_SCALES) {
    const side = mapSide(size, scale);
    if (side % blocks[scale] !== 0)
      return `DAAD: the ${side}×${side} map at scale ${scale} is not divisible into blocks of side ${blocks[scale]} (blocks.scale${scale})`;
  }
  return undefined;
}

/** Training-image statistics of the score and of the two pixel maps, saved with the model. */
class ScoreStatistics extends Module {
  readonly values: Record<
    "reconstruction" | "latent" | "pixelMap" | "latentMap",
    { mean: Parameter; std: Parameter }
  >;

  constructor() {
    super();
    const pair = (name: string) => ({
      mean: this.buffer(`${name}_mean`, [1], Float32Array.of(0)),
      std: this.buffer(`${name}_std`, [1], Float32Array.of(1)),
    });
    this.values = {
      reconstruction: pair("reconstruction"),
      latent: pair("latent"),
      pixelMap: pair("pixel_map"),
      latentMap: pair("latent_map"),
    };
  }

  /** (x − µ)/σ with the named statistics. */
  standardise(name: keyof ScoreStatistics["values"], x: Tensor): Tensor {
    const { mean, std } = this.values[name];
    return T.div(T.sub(x, this.use(mean)), this.use(std));
  }

  set(name: keyof ScoreStatistics["values"], moments: Moments): void {
    this.values[name].mean.value = Float32Array.of(moments.mean());
    this.values[name].std.value = Float32Array.of(Math.max(moments.std(), MIN_STD));
  }
}

/** Running mean and population standard deviation (Welford, float64). */
class Moments {
  private count = 0;
  private average = 0;
  private squares = 0;

  add(values: ArrayLike<number>): void {
    for (let i = 0; i < values.length; i++) {
      this.count++;
      const delta = values[i] - this.average;
      this.average += delta / this.count;
      this.squares += delta * (values[i] - this.average);
    }
  }

  mean(): number {
    return this.average;
  }

  std(): number {
    return this.count > 0 ? Math.sqrt(this.squares / this.count) : 0;
  }
}

const toSigned = (images: Tensor) => T.sub(T.mul(images, 2), 1);

/** Per-image mean over every axis but the first: [B, ...] → [B]. */
const perImageMean = (x: Tensor) =>
  T.mean(
    x,
    x.shape.slice(1).map((_, i) => i + 1),
  );

export const daadMethod: MethodDefinition<DaadConfig> = {
  name: "daad",
  summary:
    "DAAD: divide-and-assemble block-wise memories on multi-scale skips, adversarial latent (ICCV 2021)",
  configSchema: daadConfigSchema,
  channels: () => 3,
  checkImageSize: imageSizeProblem,
  defaults: { epochs: 200, batchSize: 16, imageSize: 256 },
  scoring: (config) => ({
    smoothingSigma: config.smoothingSigma,
    imageScore: "method",
    imageScoreFromSmoothed: false,
    notes: [
      config.adversarial
        ? `image score: ${config.scoreMix}·standardised reconstruction error + ${1 - config.scoreMix}·standardised latent distance (training statistics)`
        : "image score: standardised reconstruction error (training statistics)",
      `DAAD pixel maps (squared error${config.latentMap && config.adversarial ? " + latent map" : ""}) are our extension; the paper scores images only`,
      ...(config.memory ? [] : ["no block-wise memory: the same-size vanilla autoencoder"]),
    ],
  }),
  create(config, context): MethodInstance {
    const problem = imageSizeProblem(config, context.imageSize);
    if (problem) throw new Error(problem);
    return createDaad(config, context.imageSize, context.random);
  },
};

function createDaad(config: DaadConfig, imageSize: number, random: Random): MethodInstance {
  const generator = new DaadGenerator(random, {
    imageSize,
    width: config.width,
    memory: config.memory,
    blocks: blockSizes(config, imageSize),
    memorySize: config.memorySize,
    reducedChannels: config.reducedChannels,
    shrinkThreshold: config.shrinkThreshold ?? 1 / config.memorySize,
    addressing: config.addressing,
  });
  const discriminator = config.adversarial
    ? new DcganDiscriminator(random, {
        inChannels: 3,
        widths: encoderWidths(config.width),
        kernel: 4,
        padding: 1,
        imageSize,
        head: "conv",
        bnAtTest: "running",
      })
    : undefined;
  if (discriminator) dcganInitialise(random, discriminator);
  const statistics = new ScoreStatistics();
  const members = { generator, ...(discriminator ? { discriminator } : {}), statistics };
  const networks = new ModuleGroup(members);
  const inputs = { images: [3, imageSize, imageSize] };
  const parametersOf = (module: Module) => () => module.namedParameters().map(([, p]) => p);
  const [beta1, beta2] = config.betas;

  const discriminatorStep =
    discriminator &&
    new OptimizedLoss({
      name: "discriminator",
      modules: [networks],
      optimizer: new Adam({ lr: config.lr, betas: [beta1, beta2] }),
      trainable: parametersOf(discriminator),
      inputs,
      build: ({ images }) => ({ loss: discriminatorLoss(generator, discriminator, toSigned(images)) }),
    });

  const generatorStep = new OptimizedLoss({
    name: "generator",
    modules: [networks],
    optimizer: new Adam({ lr: config.lr, betas: [beta1, beta2] }),
    trainable: parametersOf(generator),
    inputs,
    build: ({ images }) => {
      const terms = generatorTerms(generator, discriminator, toSigned(images));
      const weighted = [
        terms.reconstruction,
        ...(terms.adversarial ? [T.mul(terms.adversarial, config.adversarialWeight)] : []),
        ...(terms.latent ? [T.mul(terms.latent, config.latentWeight)] : []),
        ...(terms.entropy ? [T.mul(terms.entropy, config.entropyWeight)] : []),
      ];
      return {
        loss: weighted.reduce((a, b) => T.add(a, b)),
        extraOutputs: Object.fromEntries(Object.entries(terms).filter(([, t]) => t !== undefined)) as Record<
          string,
          Tensor
        >,
      };
    },
  });

  /** R, L (when adversarial) per image, the squared-error map and the latent map. */
  const evaluate = (images: Tensor) => {
    const x = toSigned(images);
    const { reconstruction } = generator.forward(x);
    const pixelMap = T.mean(T.square(T.sub(reconstruction, x)), 1, true);
    const reconstructionError = perImageMean(pixelMap);
    if (!discriminator) return { pixelMap, reconstructionError };
    const latentDifference = T.square(
      T.sub(discriminator.features(x), discriminator.features(reconstruction)),
    );
    return {
      pixelMap,
      reconstructionError,
      latentMap: T.resize(T.mean(latentDifference, 1, true), [imageSize, imageSize], "bilinear"),
      latentDistance: perImageMean(latentDifference),
    };
  };

  const useLatentMap = config.latentMap && discriminator !== undefined;

  return {
    modules: members,
    async trainBatch(images, batchSize) {
      const dLoss = discriminatorStep ? (await discriminatorStep.run({ images }, batchSize)).loss : undefined;
      const g = await generatorStep.run({ images }, batchSize);
      const report: Record<string, number> = { loss: g.loss };
      if (dLoss !== undefined) report.d_loss = dLoss;
      for (const [name, value] of Object.entries(g.outputs)) report[name] = Number(value[0]);
      return report;
    },
    buildInference(images) {
      const out = evaluate(images);
      const reconstructionScore = statistics.standardise("reconstruction", out.reconstructionError);
      const imageScore = out.latentDistance
        ? T.add(
            T.mul(reconstructionScore, config.scoreMix),
            T.mul(statistics.standardise("latent", out.latentDistance), 1 - config.scoreMix),
          )
        : reconstructionScore;
      if (!useLatentMap || !out.latentMap) return { map: out.pixelMap, imageScore };
      const map = T.add(
        T.mul(statistics.standardise("pixelMap", out.pixelMap), 0.5),
        T.mul(statistics.standardise("latentMap", out.latentMap), 0.5),
      );
      return { map, imageScore };
    },
    async finishTraining(trainImages: AsyncIterable<ImageBatch>) {
      networks.eval();
      const measure = await compileFunction({
        name: "daad-score-statistics",
        modules: [networks],
        inputs: { images: { shape: [1, 3, imageSize, imageSize] } },
        build: ({ images }) => {
          const out = evaluate(images);
          return Object.fromEntries(Object.entries(out).filter(([, t]) => t !== undefined)) as Record<
            string,
            Tensor
          >;
        },
      });
      const moments = {
        reconstruction: new Moments(),
        latent: new Moments(),
        pixelMap: new Moments(),
        latentMap: new Moments(),
      };
      try {
        for await (const batch of trainImages) {
          const out = await measure.run({ images: batch.images });
          moments.reconstruction.add(out.reconstructionError as Float32Array);
          moments.pixelMap.add(out.pixelMap as Float32Array);
          if (out.latentDistance) {
            moments.latent.add(out.latentDistance as Float32Array);
            moments.latentMap.add(out.latentMap as Float32Array);
          }
        }
      } finally {
        await measure.release();
      }
      statistics.set("reconstruction", moments.reconstruction);
      statistics.set("pixelMap", moments.pixelMap);
      if (discriminator) {
        statistics.set("latent", moments.latent);
        statistics.set("latentMap", moments.latentMap);
      }
    },
    async optimizerState() {
      return { ...(await discriminatorStep?.state()), ...(await generatorStep.state()) };
    },
    loadOptimizerState(state) {
      discriminatorStep?.load(state);
      generatorStep.load(state);
    },
    async dispose() {
      await discriminatorStep?.dispose();
      await generatorStep.dispose();
    },
  };
}
