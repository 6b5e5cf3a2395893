/**
 * The contract every anomaly-detection method implements, and what the trainer, scorer, CLI, library
 * and exporter rely on. Nothing outside `src/methods/<name>` knows which method it is running.
 *
 * A method is described by a `MethodDefinition`: a name, a strict config schema with defaults, the
 * input it wants (channels, value range), and `create`, which builds a `MethodInstance` with seeded
 * weights. The instance trains on one batch at a time (it may run several optimiser steps, e.g. a
 * discriminator and a generator step) and builds its inference graph with the engine's tensor API,
 * so the same graph is scored in Node, exported to ONNX and run in the browser.
 *
 * A method fitted without gradients in one pass (PatchCore's memory bank) uses the same hooks:
 * `trainBatch` collects what it needs from each batch, `endEpoch` turns it into the model's state
 * before the epoch is validated, and `maxEpochs: 1` makes the trainer refuse more than one pass.
 */
import type { z } from "zod";
import type { Module, Tensor } from "../engine/index.js";
import type { Random } from "../util/random.js";

/** How the scorer turns a method's raw outputs into the image score. */
export type ImageScoreRule = "method" | "map-max" | "map-mean" | "map-topk-mean";

export interface ScoringDefaults {
  /** Gaussian smoothing of the raw map, σ in pixels of the input resolution (0 = none). */
  smoothingSigma: number;
  /** Where the image score comes from. */
  imageScore: ImageScoreRule;
  /** Whether the image score is taken from the smoothed map (true) or the raw map (false). */
  imageScoreFromSmoothed: boolean;
  /** Free-text notes shown in reports (e.g. "pixel maps are our extension"). */
  notes: string[];
}

/**
 * Training-time augmentation a method allows (applied by the trainer on host arrays): horizontal
 * flip, random affine (translation as a fraction of the side, isotropic scale range, rotation in
 * degrees) with zero fill, nearest or bilinear resampling.
 */
export interface Augmentation {
  flip: boolean;
  translate: number;
  scale: readonly [number, number];
  rotation: number;
  interpolation: "nearest" | "bilinear";
}

export interface MethodContext {
  imageSize: number;
  channels: number;
  /** Seeded generator for weights; training randomness comes per batch through `TrainContext`. */
  random: Random;
}

export interface TrainContext {
  epoch: number;
  /** Index of the batch within the epoch. */
  iteration: number;
  /** Total number of epochs (for schedules). */
  epochs: number;
  /** Generator for this batch's randomness (masks, noise), derived from the run seed. */
  random: Random;
}

/** Losses (name -> value) reported for one training batch. */
export type LossReport = Record<string, number>;

export interface InferenceOutputs {
  /** Raw anomaly map N×1×h×w at the method's working resolution (higher = more anomalous). */
  map: Tensor;
  /** The method's own image score (N), when it has one (e.g. SQUID's discriminator score). */
  imageScore?: Tensor;
}

/** `count` training images, N·C·H·W float32 in [0,1] (see `MethodInstance.finishTraining`). */
export interface ImageBatch {
  images: Float32Array;
  count: number;
}

export interface MethodInstance {
  /** The networks, by name; saved as `<name>.<parameter path>` in safetensors. */
  readonly modules: Record<string, Module>;
  /** One training batch (N·C·H·W float32 in [0,1], channels as the method asked). */
  trainBatch(images: Float32Array, batchSize: number, context: TrainContext): Promise<LossReport>;
  /** Trace the inference graph for images N×C×H×W in [0,1] (called inside an engine trace). */
  buildInference(images: Tensor): InferenceOutputs;
  /** Optimiser state for checkpoints (moments and step counts), and its restoration. */
  optimizerState(): Promise<Record<string, Float32Array>>;
  loadOptimizerState(state: Record<string, Float32Array>): void;
  /** Learning-rate schedule hook, called at the start of every epoch. */
  startEpoch?(epoch: number, epochs: number): void;
  /**
   * Called after the last batch of every epoch (not after an interrupted one), before validation: a
   * method fitted in one pass builds its state from what `trainBatch` collected. The figures it
   * returns (e.g. the size of a memory bank, seconds spent) join the epoch's losses in the history.
   */
  endEpoch?(epoch: number, epochs: number): Promise<LossReport>;
  /**
   * Called once after the last epoch, before calibration, with the training split in its stored order,
   * unaugmented, in training-size batches (the last may be partial); the method may stop reading
   * early. For statistics that belong to the model (e.g. SQUID's mean and std of the discriminator
   * logit): keep them in buffers so they are saved with the model, and change a buffer through
   * `Parameter` (`p.value = ...` or `p.assign(...)`), never by writing into its array, so compiled
   * inference functions notice the change.
   */
  finishTraining?(trainImages: AsyncIterable<ImageBatch>): Promise<void>;
  /** Release compiled sessions. */
  dispose(): Promise<void>;
}

export interface MethodDefinition<Config extends object = object> {
  name: string;
  /** One line for `--help` and reports. */
  summary: string;
  /** Strict schema (unknown keys rejected); every field has a default. */
  configSchema: z.ZodType<Config>;
  /** Channels the network takes, given the data's channels. */
  channels(config: Config, dataChannels: number): 1 | 3;
  /** Input sizes the method accepts; a reason when `size` is not one of them. */
  checkImageSize(config: Config, size: number): string | undefined;
  /** Default epochs, batch size and image size (a CLI flag overrides them). */
  defaults: { epochs: number; batchSize: number; imageSize: number };
  /** The most epochs the method can use, with the reason (e.g. fitted in one pass); default no limit. */
  maxEpochs?: { epochs: number; reason: string };
  scoring(config: Config): ScoringDefaults;
  /** Augmentation used in training (default none). */
  augmentation?(config: Config): Partial<Augmentation>;
  create(config: Config, context: MethodContext): MethodInstance;
}
