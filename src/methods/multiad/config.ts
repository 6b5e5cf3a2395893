/**
 * Multi-AD's configuration (methods.md §7.6): teacher, student switches (SE, dilation), adversarial
 * weight and discriminator input, fusion of the per-scale maps, optimiser settings (§7.4) and the
 * smoothing of the scorer (§7.5). Every field has a default; unknown keys are rejected.
 */
import { z } from "zod";
import { backboneNames } from "../../nn/backbones/index.js";

export const multiadConfigSchema = z
  .object({
    /** Pretrained teacher (src/nn/backbones). */
    teacher: z.enum(backboneNames).default("mobilenet_v1_0.75"),
    /** SE blocks in the student (false: ablation without SE). */
    se: z.boolean().default(true),
    seReduction: z.number().int().positive().default(16),
    /** Dilated 3×3 convs in stages 2–4 of the student (1, 2, 4, 8). */
    dilation: z.boolean().default(true),
    /** Weight of the student's adversarial term (0 = S4, no adversarial term). */
    lambdaAdv: z.number().min(0).default(0.01),
    /** What the discriminator sees: channel-normalised F4 or raw F4. */
    discInput: z.enum(["normalized", "raw"]).default("normalized"),
    discDropout: z.number().min(0).lt(1).default(0.3),
    /** Combination of the four upsampled maps. */
    fusion: z.enum(["product", "sum"]).default("product"),
    lr: z.number().positive().default(0.004),
    discriminatorLr: z.number().positive().default(0.004),
    weightDecay: z.number().min(0).default(1e-4),
    /** Gaussian σ in pixels of the input (0.5 → the 5×5 kernel of S4). */
    smoothingSigma: z.number().min(0).default(0.5),
  })
  .strict();

export type MultiAdConfig = z.infer<typeof multiadConfigSchema>;

export function imageSizeProblem(_config: MultiAdConfig, size: number): string | undefined {
  return size % 32 === 0 && size >= 32
    ? undefined
    : "Multi-AD taps features at stride 32: the side must be a positive multiple of 32";
}
