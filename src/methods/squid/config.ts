/**
 * SQUID's configuration (methods.md §4.6) and the sizes derived from it (§4.2 size rule).
 *
 * `profile: "faithful"` (default) is the official ZhangLab setting [code: configs/zhang_best.py]: base
 * width 32, 200 queue slots and 200 decoder-memory rows. `profile: "small"` [ours] shrinks only the
 * widths and slot counts (base width 8, 20 slots) so that tests and CI train a few steps in seconds;
 * every other default is the same. Width and slot fields left out take the profile's value.
 *
 * Sizes (§4.2 size rule): q = S/(16N), memory_channel = 4w·q², decoder-memory slot dims 8w·q² and
 * 4w·4q², discriminator Linear 128·(S/32)². At S = 64, N = 2 the rule gives q = 2 (memory_channel 512
 * at w = 32); the worked example in methods.md §4.2 says q = 1, which contradicts the rule itself.
 *
 * Switches for the official quirks (§4.8) and for ablations [ours]:
 * - `discriminatorBnAtTest`: "batch" (official: D's BN never leaves training mode, test batch 1) or
 *   "running" (running statistics).
 * - `distStopGradTeacher`: stop the distillation gradient into the teacher (official: no stop-gradient).
 * - `inpainting`: false drops the transformer of the in-painting block (the memory reads go straight
 *   to the output bottleneck).
 * - `memory`: "queue" (official FIFO queues) or "matrix" (a learned memory matrix per position).
 * - `decoderMemory`: false drops the decoder memory matrices.
 * - `score`: "discriminator" (official) or "reconstruction" (mean of the residual map).
 */
import { z } from "zod";

export const squidConfigSchema = z
  .object({
    profile: z.enum(["faithful", "small"]).default("faithful"),
    /** Grid side N (P = N² patches). */
    gridSize: z.number().int().min(1).max(4).default(2),
    /** Base width of the encoder/decoders (filters w, 2w, 4w, 8w, 16w); profile default. */
    baseWidth: z.number().int().positive().optional(),
    /** Rows of every position's memory queue ("num_slots"); profile default. */
    queueSlots: z.number().int().positive().optional(),
    /** Rows of every decoder memory ("mem_num_slots"); profile default. */
    decoderMemorySlots: z.number().int().positive().optional(),
    /** Integer shrink_thres: the top-k read keeps k − 1 items. */
    topK: z.number().int().min(1).default(5),
    /** Keep probability ρ of the masked shortcuts (in-painting and decoder memories). */
    maskRatio: z.number().min(0).max(1).default(0.95),
    attentionHeads: z.number().int().positive().default(8),
    inpainting: z.boolean().default(true),
    memory: z.enum(["queue", "matrix"]).default("queue"),
    decoderMemory: z.boolean().default(true),
    score: z.enum(["discriminator", "reconstruction"]).default("discriminator"),
    discriminatorBnAtTest: z.enum(["batch", "running"]).default("batch"),
    distStopGradTeacher: z.boolean().default(false),
    reconWeight: z.number().min(0).default(10),
    teacherWeight: z.number().min(0).default(0.01),
    distWeight: z.number().min(0).default(0.001),
    generatorAdversarialWeight: z.number().min(0).default(0.005),
    discriminatorWeight: z.number().positive().default(0.005),
    /** One generator step every nCritic batches (at iterations 0, nCritic, ...); D steps every batch. */
    nCritic: z.number().int().positive().default(2),
    lr: z.number().positive().default(1e-4),
    discriminatorLr: z.number().positive().default(1e-4),
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.5, 0.999]),
    generatorEps: z.number().positive().default(1e-7),
    generatorWeightDecay: z.number().min(0).default(1e-5),
    /** Cosine schedule of the generator's lr, stepped per epoch: T_max and η_min = ratio·lr. */
    cosineTMax: z.number().positive().default(300),
    cosineMinRatio: z.number().min(0).max(1).default(0.1),
    /** Training images used for the mean and std of the discriminator logit (official: the first 201). */
    statsImages: z.number().int().positive().default(201),
    /** Official RandomAffine augmentation (translate ±5 %, scale 0.95–1.05, nearest, no rotation). */
    augment: z.boolean().default(true),
    smoothingSigma: z.number().min(0).default(4),
  })
  .strict();

export type SquidConfig = z.infer<typeof squidConfigSchema>;

const PROFILES = {
  faithful: { baseWidth: 32, queueSlots: 200, decoderMemorySlots: 200 },
  small: { baseWidth: 8, queueSlots: 20, decoderMemorySlots: 20 },
} as const;

/** Encoder/decoder depth (the official `level`; fixed at 4, with `initial_combine` 2). */
export const LEVELS = 4;

export interface SquidSizes {
  imageSize: number;
  grid: number;
  patches: number;
  patchSize: number;
  /** Side q of a patch's bottleneck map F. */
  bottleneckSide: number;
  /** Filter list [w, 2w, 4w, 8w, 16w]. */
  widths: readonly number[];
  /** Channels of the in-painting bottleneck (16w/4) and the flattened feature size d = 4w·q². */
  innerChannels: number;
  memoryChannel: number;
  queueSlots: number;
  decoderMemorySlots: number;
  /** Side of the discriminator's last map (S/32). */
  discriminatorSide: number;
}

/** Why `size` is not a valid input side, or undefined (§4.2 size rule). */
export function imageSizeProblem(config: SquidConfig, size: number): string | undefined {
  const unit = config.gridSize * 2 ** LEVELS;
  if (size % unit !== 0)
    return `SQUID with a ${config.gridSize}×${config.gridSize} grid and ${LEVELS} levels needs a side divisible by ${unit} (grid × 2^levels)`;
  if (size % 32 !== 0 || size < 64)
    return "SQUID's discriminator halves the side 5 times and needs a final map of at least 2×2: the side must be a multiple of 32, at least 64";
  return undefined;
}

export function squidSizes(config: SquidConfig, imageSize: number): SquidSizes {
  const problem = imageSizeProblem(config, imageSize);
  if (problem) throw new Error(`image size ${imageSize}: ${problem}`);
  const profile = PROFILES[config.profile];
  const w = config.baseWidth ?? profile.baseWidth;
  const widths = [w, 2 * w, 4 * w, 8 * w, 16 * w];
  const patchSize = imageSize / config.gridSize;
  const bottleneckSide = patchSize / 2 ** LEVELS;
  const innerChannels = widths[LEVELS] / 4;
  return {
    imageSize,
    grid: config.gridSize,
    patches: config.gridSize ** 2,
    patchSize,
    bottleneckSide,
    widths,
    innerChannels,
    memoryChannel: innerChannels * bottleneckSide ** 2,
    queueSlots: config.queueSlots ?? profile.queueSlots,
    decoderMemorySlots: config.decoderMemorySlots ?? profile.decoderMemorySlots,
    discriminatorSide: imageSize / 32,
  };
}
