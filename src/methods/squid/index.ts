/**
 * SQUID — Space-aware memory QUeues for In-painting and Detecting anomalies (Xiang et al., CVPR 2023;
 * methods.md §4), in the official ZhangLab configuration [code: tiangexiang/SQUID main.py,
 * configs/zhang_best.py @1bb3b70]. Networks: network.ts (encoder, in-painting block with memory
 * queues, student with decoder memories, teacher), discriminator.ts; memories: memories.ts.
 *
 * Training (§4.3, §4.4), per batch of 16 in [0,1] with the official RandomAffine augmentation:
 * - discriminator step every batch: a fresh train-mode generator forward (its batch-norm running
 *   statistics update, §4.8 trap 12; the teacher is skipped [ours: its output is unused there]);
 *   L_D = d_w·[BCE(D(I), 1) + BCE(D(sg(Î_s)), 0)]; Adam(lr 1e-4, betas (0.5, 0.999)), no schedule.
 * - generator step at iterations 0, n_critic, 2·n_critic, … (n_critic 2): a fresh forward with fresh
 *   masks; L_G = recon_w·mse(Î_s, I) + g_w·BCE(D(Î_s), 1) + t_w·mse(Î_t, I) + dist_w·L_dist;
 *   Adam(lr 1e-4, betas (0.5, 0.999), eps 1e-7, weight decay 1e-5 as L2) over encoder, in-painting,
 *   both decoders and decoder memories; then the FIFO write of this forward's features into every
 *   queue (recorded in the same step graph, from the features before the update).
 * - The generator's lr follows the cosine schedule (T_max 300, η_min 0.1·lr), set per epoch in
 *   `startEpoch` (epoch e uses the lr after e scheduler steps).
 * - Bernoulli(ρ = 0.95) masks (masked shortcut per patch and position; decoder memory blocks per
 *   position) are fed per step, drawn from the batch's `random`.
 * - Loss report [ours]: every batch reports the discriminator loss and the latest generator step's
 *   terms (weighted as in the official logs), so epoch means are not diluted by the batches without a
 *   generator step.
 *
 * Scoring (§4.5): image score 1 − σ((d − µ)/σ), d = D(Î_s) of the evaluation-mode generator, with µ, σ
 * (population std, as np.std) over the first `statsImages` (201) training images, computed in
 * `finishTraining` and stored as buffers of the discriminator (saved in model.safetensors). The
 * official statistics use augmented images; ours use the unaugmented training images in stored order
 * (monotone rescaling either way: AUROC is unaffected, §4.8 trap 8). σ is floored at 1e-12 [ours].
 * `score: "reconstruction"` [ours, ablation] scores the mean of the residual map instead.
 * Pixel map [ours, §4.5 `residual`]: |I − Î_s| at the input resolution, smoothed with σ = 4 px by the
 * scorer; the official code has no pixel maps.
 *
 * Model selection: the last epoch (the trainer's behaviour). The official code keeps the checkpoint
 * with the best AUROC on a *labelled* validation split (tolerance 0.5 points, §4.8 trap 6); that
 * selection is not implemented.
 *
 * Deviations from the official code that can change numbers, besides the [ours] items above:
 * - the trainer drops the last partial batch (official: kept);
 * - in the discriminator step D runs on real and fake images separately (as in the official code) but
 *   the engine keeps one running-statistics update per step: the fake batch's (official: both, in
 *   sequence). Only `discriminatorBnAtTest: "running"` reads these statistics;
 * - colour images are converted to grey by the data loader (official: first channel);
 * - `pixelMap: "feature"` of §4.5 and the CheXpert `limit` of 85 batches per epoch are not offered.
 */
import type { Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import { compileFunction, ModuleGroup } from "../../engine/index.js";
import { bceWithLogits, dropoutMask, mse } from "../../nn/index.js";
import { Adam, cosineLr } from "../../nn/optim.js";
import type { Random } from "../../util/random.js";
import type { ImageBatch, LossReport, MethodDefinition, MethodInstance } from "../contract.js";
import { OptimizedLoss } from "../shared/optimized-loss.js";
import { imageSizeProblem, type SquidConfig, squidConfigSchema, squidSizes } from "./config.js";
import { SquidDiscriminator } from "./discriminator.js";
import { type GeneratorMasks, SquidGenerator } from "./network.js";

export { type SquidConfig, squidConfigSchema } from "./config.js";

/** Floor of σ in the score's standardisation [ours]. */
const MIN_STD = 1e-12;

export const squidMethod: MethodDefinition<SquidConfig> = {
  name: "squid",
  summary: "SQUID: space-aware memory queues, feature in-painting, discriminator score (CVPR 2023)",
  configSchema: squidConfigSchema,
  channels: () => 1,
  checkImageSize: imageSizeProblem,
  defaults: { epochs: 200, batchSize: 16, imageSize: 128 },
  scoring: (config) => ({
    smoothingSigma: config.smoothingSigma,
    imageScore: config.score === "discriminator" ? "method" : "map-mean",
    imageScoreFromSmoothed: false,
    notes: [
      "SQUID pixel maps (smoothed residual |I − Î| of the student reconstruction) are our extension; the paper scores images only",
      ...(config.score === "reconstruction"
        ? ["image score: mean residual (ablation), not the official discriminator score"]
        : []),
    ],
  }),
  augmentation: (config) =>
    config.augment
      ? { flip: false, translate: 0.05, scale: [0.95, 1.05], rotation: 0, interpolation: "nearest" }
      : {},
  create: (config, context) => createSquid(config, context.imageSize, context.random),
};

function createSquid(config: SquidConfig, imageSize: number, random: Random): MethodInstance {
  const sizes = squidSizes(config, imageSize);
  const generator = new SquidGenerator(random, sizes, config);
  const discriminator = new SquidDiscriminator(random, imageSize, config.discriminatorBnAtTest);
  const networks = new ModuleGroup({ generator, discriminator });
  const { patches, bottleneckSide: q } = sizes;
  const maskShapes = {
    shortcutMask: [patches, 1, q, q],
    decoderMask0: [patches, 1, 2 * q, 2 * q],
    decoderMask1: [patches, 1, 4 * q, 4 * q],
  };
  const inputs = { images: [1, imageSize, imageSize], ...maskShapes };
  const toMasks = (feeds: Record<string, Tensor>): GeneratorMasks => {
    const flat = (t: Tensor) => T.reshape(t, [t.shape[0] * t.shape[1], ...t.shape.slice(2)]);
    return {
      shortcut: flat(feeds.shortcutMask),
      decoder: [flat(feeds.decoderMask0), flat(feeds.decoderMask1)],
    };
  };
  const parametersOf = (module: SquidGenerator | SquidDiscriminator) => () =>
    module.namedParameters().map(([, p]) => p);
  const [beta1, beta2] = config.betas;

  const discriminatorStep = new OptimizedLoss({
    name: "discriminator",
    modules: [networks],
    optimizer: new Adam({ lr: config.discriminatorLr, betas: [beta1, beta2] }),
    trainable: parametersOf(discriminator),
    inputs,
    build: (feeds) => {
      const { reconstruction } = generator.forward(feeds.images, { masks: toMasks(feeds) });
      const real = bceWithLogits(discriminator.forward(feeds.images), 1);
      const fake = bceWithLogits(discriminator.forward(T.stopGradient(reconstruction)), 0);
      return { loss: T.mul(T.add(real, fake), config.discriminatorWeight) };
    },
  });

  const generatorStep = new OptimizedLoss({
    name: "generator",
    modules: [networks],
    optimizer: new Adam({
      lr: config.lr,
      betas: [beta1, beta2],
      eps: config.generatorEps,
      weightDecay: config.generatorWeightDecay,
    }),
    trainable: parametersOf(generator),
    inputs,
    build: (feeds) => {
      const out = generator.forward(feeds.images, {
        masks: toMasks(feeds),
        writeQueues: config.memory === "queue",
        teacher: true,
      });
      const terms = {
        recon_loss: T.mul(mse(out.reconstruction, feeds.images), config.reconWeight),
        g_loss: T.mul(
          bceWithLogits(discriminator.forward(out.reconstruction), 1),
          config.generatorAdversarialWeight,
        ),
        t_recon_loss: T.mul(mse(out.teacherReconstruction!, feeds.images), config.teacherWeight),
        dist_loss: T.mul(generator.distillation(out), config.distWeight),
      };
      return { loss: Object.values(terms).reduce((a, b) => T.add(a, b)), extraOutputs: terms };
    },
  });

  const drawMasks = (rng: Random, batchSize: number): Record<string, Float32Array> =>
    Object.fromEntries(
      Object.entries(maskShapes).map(([name, shape]) => [
        name,
        dropoutMask(rng, [batchSize, ...shape], 1 - config.maskRatio),
      ]),
    );

  let generatorLr = config.lr;
  let lastGenerator: LossReport = {};

  return {
    modules: { generator, discriminator },
    async trainBatch(images, batchSize, context) {
      const dStep = await discriminatorStep.run(
        { images, ...drawMasks(context.random, batchSize) },
        batchSize,
      );
      if (context.iteration % config.nCritic === 0) {
        const gStep = await generatorStep.run(
          { images, ...drawMasks(context.random, batchSize) },
          batchSize,
          generatorLr,
        );
        lastGenerator = { loss: gStep.loss };
        for (const [name, value] of Object.entries(gStep.outputs)) lastGenerator[name] = Number(value[0]);
      }
      return { d_loss: dStep.loss, ...lastGenerator };
    },
    startEpoch(epoch) {
      generatorLr = cosineLr(config.lr, epoch, config.cosineTMax, config.cosineMinRatio * config.lr);
    },
    buildInference(images) {
      const { reconstruction } = generator.forward(images);
      const map = T.abs(T.sub(images, reconstruction));
      if (config.score === "reconstruction") return { map };
      return { map, imageScore: discriminator.score(discriminator.forward(reconstruction)) };
    },
    async finishTraining(trainImages: AsyncIterable<ImageBatch>) {
      networks.eval();
      const logitsOf = await compileFunction({
        name: "squid-logit-statistics",
        modules: [networks],
        inputs: { images: { shape: [1, 1, imageSize, imageSize] } },
        build: ({ images }) => ({ logits: discriminator.forward(generator.forward(images).reconstruction) }),
      });
      const logits: number[] = [];
      try {
        for await (const batch of trainImages) {
          const out = (await logitsOf.run({ images: batch.images })).logits;
          for (let i = 0; i < batch.count && logits.length < config.statsImages; i++)
            logits.push(Number(out[i]));
          if (logits.length >= config.statsImages) break;
        }
      } finally {
        await logitsOf.release();
      }
      const mean = logits.reduce((a, v) => a + v, 0) / logits.length;
      const variance = logits.reduce((a, v) => a + (v - mean) ** 2, 0) / logits.length;
      discriminator.logitMean.value = Float32Array.of(mean);
      discriminator.logitStd.value = Float32Array.of(Math.max(Math.sqrt(variance), MIN_STD));
    },
    async optimizerState() {
      return { ...(await discriminatorStep.state()), ...(await generatorStep.state()) };
    },
    loadOptimizerState(state) {
      discriminatorStep.load(state);
      generatorStep.load(state);
    },
    async dispose() {
      await discriminatorStep.dispose();
      await generatorStep.dispose();
    },
  };
}
