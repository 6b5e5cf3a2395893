/**
 * Multi-AD — teacher–student distillation with SE blocks, a feature discriminator and multi-scale
 * maps (Rahmaniar & Suzuki, Pattern Recognition 2025; methods.md §7). The paper's code is not
 * released; the recipe follows the figures [paper] and the authors' sibling Med-AD `train.py` [code: S4].
 *
 * Networks: a frozen pretrained teacher chosen by `teacher` (src/nn/backbones; default the sanctioned
 * MobileNet v1 0.75 shipped in the package, taps conv_pw_3/5/11/13 at strides 4/8/16/32, §7.2 —
 * results must be labelled "Multi-AD (MobileNet teacher)"), always in evaluation mode; the student
 * of student.ts (SE/dilated ResNet-50 layout, stage widths = the teacher's tap widths); the
 * discriminator of Fig. 3 (src/nn/blocks/feature-discriminator.ts) on F4 — channel-normalised
 * (`discInput: "normalized"`, our reading of the figure's F_TN4/F_SN4) or raw (S4).
 *
 * Training per batch (§7.3, §7.4):
 * 1. student step: L_S = L_KD + λ_adv·BCE(D(F̂_S4), 1), L_KD the STFPM loss summed over the batch;
 *    Adam(lr 0.004, weight decay 1e-4 as L2) over the student. λ_adv = 0.01 [ours]; λ_adv = 0
 *    reproduces S4 (the discriminator is then left out of this step).
 * 2. discriminator step: L_D = BCE(D(F_T4), 1) + BCE(D(F_S4), 0) on the features the student step
 *    computed (its outputs, before the student's update, as S4 does); Adam with the same settings
 *    over D. The step's graph holds only D, so no gradient can reach the student.
 * No scheduler, last epoch kept; batch 16, 150 epochs, 256 px by default (any multiple of 32).
 * Input: 3 channels (grayscale replicated by the loader), [0, 1] → [−1, 1] for both networks, the
 * teacher's preprocessing (§7.2: not ImageNet mean/std).
 *
 * Inference (§7.5): M_l = 1 − cos(F_T^l, F_S^l) per scale, upsampled bilinearly (align_corners
 * false) to the input side, fused by product (`fusion: "product"`, S4 `amap_mode = mul`) or sum; the
 * scorer smooths with a Gaussian σ = 0.5 px (kernel 5×5: radius ⌈4σ⌉ = 2, reflect-101 borders, §1.5)
 * and the image score is the max of the smoothed map. The Fig. 5 "Conv 1×1, BN, ReLU" after the
 * combination has no training signal in an unsupervised setting and is not built (identity, §7.5).
 * The export graph holds the teacher and the student.
 *
 * Choices where the sources are silent [ours]: the student sees the teacher's [−1, 1] input; the
 * discriminator's running statistics are never used (it has no role at inference); dropout masks come
 * from the batch's seeded generator; the loss report gives L_KD, the weighted L_adv, their sum and L_D.
 */
import { getBackbone } from "../../nn/backbones/index.js";
import { dropoutMask } from "../../nn/index.js";
import { Adam } from "../../nn/optim.js";
import type { Random } from "../../util/random.js";
import type { MethodDefinition, MethodInstance } from "../contract.js";
import { OptimizedLoss } from "../shared/optimized-loss.js";
import { imageSizeProblem, type MultiAdConfig, multiadConfigSchema } from "./config.js";
import { MultiAdNetworks } from "./objectives.js";

export { type MultiAdConfig, multiadConfigSchema } from "./config.js";

export const multiadMethod: MethodDefinition<MultiAdConfig> = {
  name: "multiad",
  summary:
    "Multi-AD: SE/dilated student distilled from a frozen pretrained teacher, feature discriminator (PR 2025)",
  configSchema: multiadConfigSchema,
  channels: () => 3,
  checkImageSize: imageSizeProblem,
  defaults: { epochs: 150, batchSize: 16, imageSize: 256 },
  scoring: (config) => ({
    smoothingSigma: config.smoothingSigma,
    imageScore: "map-max",
    imageScoreFromSmoothed: true,
    notes: [
      `teacher ${config.teacher} (${getBackbone(config.teacher).description}); label results "Multi-AD (${config.teacher.startsWith("mobilenet") ? "MobileNet" : config.teacher} teacher)"`,
      `maps: 1 − cosine per scale, upsampled and fused by ${config.fusion}`,
    ],
  }),
  create: (config, context) => createMultiAd(config, context.imageSize, context.random),
};

function createMultiAd(config: MultiAdConfig, imageSize: number, random: Random): MethodInstance {
  const problem = imageSizeProblem(config, imageSize);
  if (problem) throw new Error(`image size ${imageSize}: ${problem}`);
  const networks = new MultiAdNetworks(config, imageSize, random);
  const { teacher, student, discriminator, adversarial, dropoutFeatures } = networks;
  const { channels: f4Width, side } = networks.f4;

  const studentStep = new OptimizedLoss({
    name: "student",
    modules: adversarial ? [teacher, student, discriminator] : [teacher, student],
    optimizer: new Adam({ lr: config.lr, weightDecay: config.weightDecay }),
    trainable: () => student.namedParameters().map(([, p]) => p),
    inputs: {
      images: [3, imageSize, imageSize],
      ...(adversarial ? { keepMask: [dropoutFeatures] } : {}),
    },
    build: ({ images, keepMask }) => {
      const objective = networks.studentObjective(images, keepMask);
      return {
        loss: objective.loss,
        extraOutputs: { ...objective.terms, real: objective.real, fake: objective.fake },
      };
    },
  });

  const discriminatorStep = new OptimizedLoss({
    name: "discriminator",
    modules: [discriminator],
    optimizer: new Adam({ lr: config.discriminatorLr, weightDecay: config.weightDecay }),
    inputs: {
      real: [f4Width, side, side],
      fake: [f4Width, side, side],
      keepReal: [dropoutFeatures],
      keepFake: [dropoutFeatures],
    },
    build: ({ real, fake, keepReal, keepFake }) => ({
      loss: networks.discriminatorObjective(real, fake, keepReal, keepFake),
    }),
  });

  const keepMask = (rng: Random, batch: number) =>
    dropoutMask(rng, [batch, dropoutFeatures], config.discDropout);

  return {
    modules: { teacher, student, discriminator },
    async trainBatch(images, batchSize, context) {
      const s = await studentStep.run(
        adversarial ? { images, keepMask: keepMask(context.random, batchSize) } : { images },
        batchSize,
      );
      const d = await discriminatorStep.run(
        {
          real: s.outputs.real,
          fake: s.outputs.fake,
          keepReal: keepMask(context.random, batchSize),
          keepFake: keepMask(context.random, batchSize),
        },
        batchSize,
      );
      const report: Record<string, number> = { loss: s.loss, kd_loss: Number(s.outputs.kd_loss[0]) };
      if (adversarial) report.adv_loss = Number(s.outputs.adv_loss[0]);
      return { ...report, d_loss: d.loss };
    },
    buildInference: (images) => ({ map: networks.anomalyMap(images) }),
    async optimizerState() {
      return { ...(await studentStep.state()), ...(await discriminatorStep.state()) };
    },
    loadOptimizerState(state) {
      studentStep.load(state);
      discriminatorStep.load(state);
    },
    async dispose() {
      await studentStep.dispose();
      await discriminatorStep.dispose();
    },
  };
}
