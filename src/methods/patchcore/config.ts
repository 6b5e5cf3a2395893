/**
 * PatchCore's configuration: backbone and taps, local aggregation and width of the patch features,
 * coreset ratio and projection, the streamed candidate budget, the bank chunk of the scoring graph,
 * the image-score re-weighting and the scorer's smoothing. Every field has a default; unknown keys
 * are rejected.
 */
import { z } from "zod";
import { backboneNames } from "../../nn/backbones/index.js";

export const patchcoreConfigSchema = z
  .object({
    /** Pretrained backbone (src/nn/backbones; the same choice as Multi-AD's `teacher`). */
    backbone: z.enum(backboneNames).default("mobilenet_v1_0.75"),
    /** Indices into the backbone's four taps (strides 4, 8, 16, 32), increasing; [1, 2] = strides 8 and 16. */
    taps: z
      .array(z.number().int().min(0).max(3))
      .min(1)
      .refine((t) => t.every((v, i) => i === 0 || v > t[i - 1]), "taps must be increasing")
      .default([1, 2]),
    /** Side of the neighbourhood averaged around each patch (odd; 1 = no local aggregation). */
    neighbourhood: z
      .number()
      .int()
      .positive()
      .refine((n) => n % 2 === 1, "neighbourhood must be odd")
      .default(3),
    /** Width of the patch features after channel pooling; null keeps the concatenated taps. */
    embeddingWidth: z.number().int().positive().nullable().default(null),
    /** Fraction of the collected patch features kept in the bank by the greedy coreset (1 = all). */
    coresetRatio: z.number().gt(0).max(1).default(0.1),
    /** Random-projection dimension of the coreset's distances; null = exact distances. */
    projectionDim: z.number().int().positive().nullable().default(128),
    /** Most patch features held while streaming; beyond, every image is subsampled (halving). */
    maxCandidates: z.number().int().positive().default(131_072),
    /** Bank rows per MatMul chunk of the scoring graph. */
    chunkRows: z.number().int().positive().default(2048),
    /** Re-weighting of the image score (paper eq. 7): support size b; 1 = the plain maximum. */
    reweightNeighbours: z.number().int().positive().default(1),
    /** Gaussian σ of the scorer in pixels of the input. */
    smoothingSigma: z.number().min(0).default(4),
  })
  .strict();

export type PatchCoreConfig = z.infer<typeof patchcoreConfigSchema>;

/** Stride of a tap index (4, 8, 16, 32). */
export const tapStride = (tap: number) => 4 * 2 ** tap;

export function imageSizeProblem(config: PatchCoreConfig, size: number): string | undefined {
  const stride = tapStride(config.taps[config.taps.length - 1]);
  return size % stride === 0 && size >= stride
    ? undefined
    : `PatchCore's coarsest tap has stride ${stride}: the side must be a positive multiple of ${stride}`;
}
