/**
 * PatchCore — a memory bank of locally aware patch features of a frozen pretrained backbone, scored
 * by nearest-neighbour distance (Roth et al., "Towards Total Recall in Industrial Anomaly Detection",
 * CVPR 2022; official code amazon-science/patchcore-inspection; anomalib's `Patchcore`).
 *
 * Behaviours followed:
 * - Features (§3.1): two middle taps of the backbone, each averaged over its 3×3 neighbourhood (zero
 *   padding counted, as both codes), the coarser upsampled bilinearly to the finer grid, concatenated
 *   (src/nn/blocks/patch-features.ts); optional channel pooling to `embeddingWidth` (official code).
 * - "Training" (§3.2) is one pass over the normal training images: `trainBatch` collects the patch
 *   features of each batch (streamed, per-image halving beyond `maxCandidates`, candidates.ts) and
 *   `endEpoch` reduces them by greedy k-center coreset (src/nn/coreset.ts; default 10 % as anomalib,
 *   distances on a random projection to 128 dimensions as the official code) into the bank, a buffer
 *   saved in model.safetensors. `--epochs` is 1 (`maxEpochs`); there is no optimiser.
 * - Scoring (§3.3): every patch's distance to its nearest bank row by a chunked MatMul graph
 *   (src/nn/nearest-neighbour.ts), so the exported ONNX runs in plain ONNX Runtime; the map is the
 *   patch distances upsampled bilinearly to the input side (official code; anomalib upsamples by
 *   nearest) and smoothed by the scorer with a Gaussian σ = 4 px; the image score is the largest
 *   patch distance, or the paper's eq. 7 re-weighting with `reweightNeighbours` = b (anomalib uses 9).
 *
 * Choices where the sources are silent or do not apply [ours]: the backbone is the package's
 * MobileNet v1 0.75 (src/nn/backbones; the papers use WideResNet-50), taps conv_pw_5 and conv_pw_11
 * (strides 8 and 16, D = 192 + 384 = 576; the layer2/layer3 analogue); its own preprocessing
 * ([0, 1] → [−1, 1], as Multi-AD's teacher), 3 channels (grayscale replicated by the loader); input
 * 256 px by default (Multi-AD's; anomalib resizes to 256 and crops 224, we do not crop); the training
 * pass is the trainer's epoch, so it sees the shuffled training split in full batches (the last
 * partial batch is dropped as for every method; the default batch size 1 keeps every image); the
 * coreset size is ⌊ratio·rows⌋ (at least one row), fewer when the rows have fewer distinct values
 * (the greedy selection stops instead of repeating rows); the coreset's generator comes from the run
 * seed, so seeds differ in the projection and the first centre; at most 131 072 rows (302 MB at
 * D = 576) are held while streaming — every image is kept whole up to that (128 px: 256 rows per
 * image, 512 images); a bank row chunk of 2048 rows.
 */
import type { Tensor } from "../../engine/index.js";
import { type CompiledFunction, compileFunction } from "../../engine/index.js";
import { getBackbone } from "../../nn/backbones/index.js";
import { kCenterGreedy } from "../../nn/coreset.js";
import type { MethodContext, MethodDefinition, MethodInstance } from "../contract.js";
import { PatchCandidates } from "./candidates.js";
import { imageSizeProblem, type PatchCoreConfig, patchcoreConfigSchema } from "./config.js";
import { PatchCoreNetworks } from "./network.js";

export { type PatchCoreConfig, patchcoreConfigSchema } from "./config.js";

export const patchcoreMethod: MethodDefinition<PatchCoreConfig> = {
  name: "patchcore",
  summary:
    "PatchCore: coreset memory bank of pretrained patch features, nearest-neighbour distance (CVPR 2022)",
  configSchema: patchcoreConfigSchema,
  channels: () => 3,
  checkImageSize: imageSizeProblem,
  defaults: { epochs: 1, batchSize: 1, imageSize: 256 },
  maxEpochs: { epochs: 1, reason: "builds its memory bank in one pass over the training images" },
  scoring: (config) => ({
    smoothingSigma: config.smoothingSigma,
    imageScore: "method",
    imageScoreFromSmoothed: false,
    notes: [
      `backbone ${config.backbone} (${getBackbone(config.backbone).description}); label results "PatchCore (MobileNet backbone)"`,
      `coreset ${config.coresetRatio * 100} % of the patch features; image score ${config.reweightNeighbours > 1 ? `re-weighted max (b = ${config.reweightNeighbours})` : "max patch distance"}`,
    ],
  }),
  create: createPatchCore,
};

function createPatchCore(config: PatchCoreConfig, context: MethodContext): MethodInstance {
  const problem = imageSizeProblem(config, context.imageSize);
  if (problem) throw new Error(`image size ${context.imageSize}: ${problem}`);
  const networks = new PatchCoreNetworks(config, context.imageSize);
  const { backbone, bank } = networks;
  const candidates = new PatchCandidates(
    networks.width,
    networks.grid * networks.grid,
    config.maxCandidates,
    config.projectionDim,
  );
  const coresetRandom = context.random;
  let extraction: Promise<CompiledFunction> | undefined;
  let extractSeconds = 0;

  const extract = async (images: Float32Array, n: number): Promise<Float32Array> => {
    extraction ??= compileFunction({
      name: "patch-features",
      modules: [backbone],
      inputs: { images: { shape: [n, 3, context.imageSize, context.imageSize] } },
      build: ({ images: x }: { images: Tensor }) => ({ rows: networks.patchRows(x) }),
    });
    const out = await (await extraction).run({ images });
    return out.rows as Float32Array;
  };

  return {
    modules: { backbone, bank },
    async trainBatch(images, batchSize, trainContext) {
      const started = performance.now();
      candidates.add(await extract(images, batchSize), batchSize, trainContext.random);
      extractSeconds += (performance.now() - started) / 1000;
      return {};
    },
    async endEpoch() {
      const started = performance.now();
      const count = candidates.rowCount;
      if (count === 0) throw new Error("PatchCore: the training pass collected no patch features");
      const rows = candidates.rows();
      const size = Math.max(1, Math.floor(config.coresetRatio * count));
      const width = networks.width;
      let features = rows;
      if (size < count) {
        const chosen = kCenterGreedy(rows, count, width, size, {
          random: coresetRandom,
          projectionDim: config.projectionDim,
        });
        features = new Float32Array(chosen.length * width);
        for (let j = 0; j < chosen.length; j++)
          features.set(rows.subarray(chosen[j] * width, (chosen[j] + 1) * width), j * width);
      }
      bank.set(features);
      const report = {
        images: candidates.images,
        rows_per_image: candidates.rowsPerImage,
        candidates: count,
        bank_size: features.length / width,
        extract_seconds: extractSeconds,
        coreset_seconds: (performance.now() - started) / 1000,
      };
      candidates.clear();
      extractSeconds = 0;
      return report;
    },
    buildInference: (images) => networks.score(images),
    optimizerState: async () => ({}),
    loadOptimizerState: () => {},
    async dispose() {
      if (extraction) await (await extraction).release();
      extraction = undefined;
    },
  };
}
