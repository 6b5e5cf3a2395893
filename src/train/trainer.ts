/**
 * The trainer: streams the training split through a method's `trainBatch`, validates every epoch,
 * checkpoints atomically, resumes, lets the method finish (`finishTraining`, e.g. statistics over the
 * training images), and finally calibrates thresholds on validation data and writes the model
 * directory. It never looks at the test split and never special-cases a method. Which epoch becomes the
 * model (`select`) and the synthetic-anomaly threshold rule are in selection.ts.
 *
 * Reproducibility: the data order and every random draw of an epoch come from generators derived from
 * (seed, epoch, batch), so `--resume` from the checkpoint of epoch e continues exactly as an
 * uninterrupted run would. Ctrl-C stops after the current batch, keeps the checkpoint of the last
 * completed epoch and exits with 130; a non-finite loss stops with the epoch and step named and the
 * last good checkpoint untouched.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { batches, type Dataset, loadDataset, type Sample, summarize } from "../data/index.js";
import { NonFiniteError } from "../engine/index.js";
import { ModuleGroup } from "../engine/module.js";
import { readSafetensors, writeSafetensors } from "../engine/safetensors.js";
import { InterruptedError, OptionError, UserError } from "../errors.js";
import { readImage } from "../io/index.js";
import type { ImageBatch, MethodDefinition, MethodInstance } from "../methods/contract.js";
import { getMethod, parseMethodConfig } from "../methods/registry.js";
import { imageAuroc } from "../metrics/index.js";
import { MODEL_FORMAT_VERSION, type ModelManifest, saveModelDirectory } from "../model/directory.js";
import { Scorer, scoreSamples } from "../score/scorer.js";
import { Random } from "../util/random.js";
import { packageVersion } from "../util/version.js";
import { type Augmentation, augmentBatch, noAugmentation } from "./augment.js";
import { CalibrationCollector } from "./calibrate.js";
import { createProgress, type ProgressReporter } from "./progress.js";
import {
  buildSyntheticValidation,
  calibrateOnSet,
  EpochSelector,
  loadLabelledValidation,
  parseCriterion,
  parseThresholdRule,
  type SelectionCriterion,
  type SelectionPoint,
  type SelectionState,
  type ThresholdRule,
  type ValidationSet,
} from "./selection.js";

export interface TrainOptions {
  data: string;
  layout?: string;
  category?: string;
  method: string;
  /** Method config (object) or a path to a JSON file. */
  config?: object | string;
  epochs?: number;
  batchSize?: number;
  imageSize?: number;
  seed?: number;
  out: string;
  resume?: boolean;
  quiet?: boolean;
  /**
   * Stop when the criterion has not improved for this many epochs (0 = off): the selection metric with
   * `select` synthetic or labelled, else the mean normal validation score.
   */
  earlyStoppingPatience?: number;
  /** Which epoch becomes the model: `last` (default), `synthetic` or `labelled` (selection.ts). */
  select?: SelectionCriterion;
  /** Defect kinds pasted into the synthetic validation set (names or a comma list; default all). */
  syntheticDefects?: string | readonly string[];
  /** `percentile` (default) or `synthetic-f1`: F1-max on the validation set with synthetic anomalies. */
  thresholdRule?: ThresholdRule;
  /** Percentile of normal validation scores used as threshold when validation has no anomalies. */
  thresholdPercentile?: number;
  /** Overrides the method's augmentation (e.g. `{ flip: false }`). */
  augmentation?: Partial<Augmentation>;
  /** Called after every epoch (tests use it to interrupt a run). */
  onEpochEnd?: (epoch: number) => void;
}

export interface EpochRecord {
  epoch: number;
  losses: Record<string, number>;
  validationNormalScore: number;
  validationAuroc: number | null;
  /** The selection criterion's validation metrics (with `select` synthetic or labelled). */
  selection?: SelectionPoint;
  seconds: number;
}

export interface TrainResult {
  modelDir: string;
  epochsRun: number;
  history: EpochRecord[];
  wallSeconds: number;
  manifest: ModelManifest;
}

export class TrainingDivergedError extends UserError {
  override name = "TrainingDivergedError";
}

const CHECKPOINT_FILE = "checkpoint.safetensors";

interface TrainerState {
  completedEpochs: number;
  history: EpochRecord[];
  bestNormalScore: number;
  epochsWithoutImprovement: number;
  method: string;
  seed: number;
  selection?: SelectionState;
}

/** A generator for (seed, epoch, batch) that does not depend on anything consumed before. */
export function derivedRandom(seed: number, ...path: number[]): Random {
  let h = seed >>> 0;
  for (const p of path) h = Math.imul(h ^ (p + 0x9e3779b9), 0x85ebca6b) >>> 0;
  return new Random(h);
}

async function readConfig(config: object | string | undefined): Promise<unknown> {
  if (config === undefined || typeof config === "object") return config ?? {};
  let text: string;
  try {
    text = await readFile(config, "utf8");
  } catch {
    throw new OptionError(`--config ${config}: file not found`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new OptionError(`--config ${config}: invalid JSON (${(error as Error).message})`);
  }
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1)
    throw new OptionError(`${name} must be a positive integer, got ${value}`);
  return v;
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const started = Date.now();
  const method = getMethod(options.method);
  const config = parseMethodConfig(
    method,
    await readConfig(options.config),
    options.config ? `--config ${options.config}` : "config",
  );
  const epochs = positiveInt("--epochs", options.epochs, method.defaults.epochs);
  const batchSize = positiveInt("--batch-size", options.batchSize, method.defaults.batchSize);
  const imageSize = positiveInt("--image-size", options.imageSize, method.defaults.imageSize);
  const seed = options.seed ?? 0;
  const criterion = parseCriterion(options.select);
  const thresholdRule = parseThresholdRule(options.thresholdRule);
  const sizeProblem = method.checkImageSize(config, imageSize);
  if (sizeProblem) throw new OptionError(`--image-size ${imageSize}: ${sizeProblem}`);
  const progress = createProgress({ quiet: options.quiet });

  const dataset = await loadDataset(options.data, {
    layout: options.layout as never,
    category: options.category,
    seed,
  });
  progress.log(
    `data: ${options.data} (layout ${dataset.layout}${dataset.detected ? ", detected" : ""}) — ${describe(dataset)}`,
  );
  if (dataset.train.length < batchSize) {
    throw new OptionError(
      `${options.data}: ${dataset.train.length} training images, fewer than the batch size ${batchSize}`,
    );
  }
  const first = await readImage(dataset.train[0].path, { slice: dataset.train[0].slice });
  const channels = method.channels(config, first.channels);
  const instance = method.create(config, { imageSize, channels, random: new Random(seed) });
  const augmentation: Augmentation = {
    ...noAugmentation,
    ...method.augmentation?.(config),
    ...options.augmentation,
  };

  const setOptions = { imageSize, channels, batchSize };
  const synthetic =
    criterion === "synthetic" || thresholdRule === "synthetic-f1"
      ? await buildSyntheticValidation(dataset.validation, {
          ...setOptions,
          seed,
          defects: options.syntheticDefects,
        })
      : null;
  const selectionSet: ValidationSet | null =
    criterion === "synthetic"
      ? synthetic
      : criterion === "labelled"
        ? await loadLabelledValidation(dataset.validation, options.data, setOptions)
        : null;
  const selector = new EpochSelector(criterion, selectionSet);
  if (selectionSet) progress.log(`selection: ${selector.metric}, ${selectionSet.count} images`);

  await mkdir(options.out, { recursive: true });
  const checkpointPath = join(options.out, CHECKPOINT_FILE);
  let state: TrainerState = {
    completedEpochs: 0,
    history: [],
    bestNormalScore: Number.POSITIVE_INFINITY,
    epochsWithoutImprovement: 0,
    method: method.name,
    seed,
  };
  if (options.resume) {
    if (!existsSync(checkpointPath)) throw new OptionError(`--resume: no checkpoint in ${options.out}`);
    state = await loadCheckpoint(checkpointPath, instance, method, seed, selector);
    progress.log(`resuming after epoch ${state.completedEpochs} from ${checkpointPath}`);
  }

  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on("SIGINT", onSigint);
  const scorer = new Scorer(instance, method.scoring(config), imageSize, channels);
  try {
    const patience = options.earlyStoppingPatience ?? 0;
    for (let epoch = state.completedEpochs; epoch < epochs; epoch++) {
      const epochStart = Date.now();
      instance.startEpoch?.(epoch, epochs);
      const losses = await trainEpoch(instance, dataset.train, {
        epoch,
        epochs,
        batchSize,
        imageSize,
        channels,
        seed,
        augmentation,
        progress,
        isInterrupted: () => interrupted,
      });
      if (interrupted) break;
      const validation = await validate(scorer, dataset.validation, batchSize);
      const selected = await selector.afterEpoch(epoch, scorer, instance.modules, batchSize);
      const record: EpochRecord = {
        epoch,
        losses,
        validationNormalScore: validation.normalScore,
        validationAuroc: validation.auroc,
        ...(selected ? { selection: selected.point } : {}),
        seconds: (Date.now() - epochStart) / 1000,
      };
      state.history.push(record);
      state.completedEpochs = epoch + 1;
      const normalImproved = validation.normalScore < state.bestNormalScore;
      if (normalImproved) state.bestNormalScore = validation.normalScore;
      if (selected ? selected.improved : normalImproved) state.epochsWithoutImprovement = 0;
      else state.epochsWithoutImprovement++;
      state.selection = selector.checkpointState();
      await saveCheckpoint(checkpointPath, instance, state, selector.checkpointTensors(instance.modules));
      progress.endEpoch(
        `${formatLosses(losses)}  val normal score ${validation.normalScore.toPrecision(4)}` +
          `${validation.auroc === null ? "" : `  val AUROC ${validation.auroc.toFixed(3)}`}` +
          `${selected ? `  selection AUROC ${selected.point.imageAuroc.toFixed(3)}${selected.improved ? " (best)" : ""}` : ""}  ${record.seconds.toFixed(1)} s`,
      );
      options.onEpochEnd?.(epoch);
      if (patience > 0 && state.epochsWithoutImprovement >= patience) {
        progress.log(
          `early stopping: no improvement of ${selector.active ? "the selection criterion" : "the normal validation score"} for ${patience} epochs`,
        );
        break;
      }
    }
    if (interrupted) {
      throw new InterruptedError(
        `interrupted; the checkpoint after epoch ${state.completedEpochs} is in ${checkpointPath} (continue with --resume)`,
      );
    }
    selector.restoreSelected(instance.modules, state.completedEpochs);
    if (selector.active) progress.log(`selected epoch ${selector.bestEpoch} (${selector.metric})`);
    await instance.finishTraining?.(trainingImages(dataset.train, batchSize, imageSize, channels));
    const percentile = options.thresholdPercentile ?? 99;
    const calibration =
      synthetic && thresholdRule === "synthetic-f1"
        ? await calibrateOnSet(scorer, synthetic, batchSize, percentile)
        : await calibrate(scorer, dataset.validation, batchSize, percentile);
    const selection = selector.record(state.completedEpochs);
    const manifest: ModelManifest = {
      format: "anomalyscope-model",
      formatVersion: MODEL_FORMAT_VERSION,
      packageVersion: packageVersion(),
      method: method.name,
      config: config as Record<string, unknown>,
      imageSize,
      channels,
      preprocessing: { resize: "cubic (sharp)", centerCrop: false, range: "[0,1]" },
      scoring: method.scoring(config),
      calibration: calibration.calibration,
      thresholds: calibration.thresholds,
      training: {
        data: options.data,
        layout: dataset.layout,
        category: options.category ?? null,
        summary: summarize(dataset),
        epochs: state.completedEpochs,
        batchSize,
        seed,
        augmentation,
        history: state.history,
        wallSeconds: (Date.now() - started) / 1000,
      },
      validation: {
        images: dataset.validation.length,
        auroc: calibration.auroc,
        normalScore: state.history[selection.selectedEpoch - 1]?.validationNormalScore ?? null,
      },
      selection,
    };
    await saveModelDirectory(options.out, instance, manifest);
    progress.log(`model written to ${options.out}`);
    return {
      modelDir: options.out,
      epochsRun: state.completedEpochs,
      history: state.history,
      wallSeconds: (Date.now() - started) / 1000,
      manifest,
    };
  } finally {
    process.off("SIGINT", onSigint);
    progress.stop();
    await scorer.dispose();
    await instance.dispose();
  }
}

function describe(dataset: Dataset): string {
  const anomalous = (s: Sample[]) => s.filter((x) => x.label === 1).length;
  return (
    `train ${dataset.train.length}, validation ${dataset.validation.length} (${anomalous(dataset.validation)} anomalous), ` +
    `test ${dataset.test.length} (${anomalous(dataset.test)} anomalous)` +
    (dataset.duplicates.length ? `, ${dataset.duplicates.length} groups of duplicate files` : "")
  );
}

function formatLosses(losses: Record<string, number>): string {
  return Object.entries(losses)
    .map(([k, v]) => `${k} ${v.toPrecision(4)}`)
    .join("  ");
}

interface EpochOptions {
  epoch: number;
  epochs: number;
  batchSize: number;
  imageSize: number;
  channels: number;
  seed: number;
  augmentation: Augmentation;
  progress: ProgressReporter;
  isInterrupted: () => boolean;
}

async function trainEpoch(
  instance: MethodInstance,
  samples: Sample[],
  o: EpochOptions,
): Promise<Record<string, number>> {
  const batchCount = Math.floor(samples.length / o.batchSize);
  const totals: Record<string, number> = {};
  let iteration = 0;
  const started = Date.now();
  o.progress.startEpoch(o.epoch, o.epochs, batchCount);
  for await (const batch of batches(samples, {
    batchSize: o.batchSize,
    size: o.imageSize,
    channels: o.channels,
    shuffle: true,
    seed: derivedRandom(o.seed, o.epoch).nextUint32(),
    dropLast: true,
    withMasks: false,
  })) {
    const random = derivedRandom(o.seed, o.epoch, iteration + 1);
    augmentBatch(batch.images, o.batchSize, o.channels, o.imageSize, o.augmentation, random);
    let losses: Record<string, number>;
    try {
      losses = await instance.trainBatch(batch.images, o.batchSize, {
        epoch: o.epoch,
        epochs: o.epochs,
        iteration,
        random,
      });
    } catch (error) {
      if (error instanceof NonFiniteError) {
        throw new TrainingDivergedError(
          `training diverged at epoch ${o.epoch + 1}, step ${iteration + 1}: ${error.message}; the last good checkpoint is kept`,
        );
      }
      throw error;
    }
    for (const [k, v] of Object.entries(losses)) totals[k] = (totals[k] ?? 0) + v;
    iteration++;
    const seconds = (Date.now() - started) / 1000;
    o.progress.batch(iteration, losses, (iteration * o.batchSize) / Math.max(seconds, 1e-9));
    if (o.isInterrupted()) break;
  }
  for (const k of Object.keys(totals)) totals[k] /= Math.max(iteration, 1);
  return totals;
}

/** The training split in stored order, unaugmented, for `MethodInstance.finishTraining`. */
async function* trainingImages(
  samples: Sample[],
  batchSize: number,
  size: number,
  channels: number,
): AsyncGenerator<ImageBatch> {
  for await (const batch of batches(samples, { batchSize, size, channels, withMasks: false }))
    yield { images: batch.images, count: batch.samples.length };
}

async function validate(scorer: Scorer, samples: Sample[], batchSize: number) {
  const scores: number[] = [];
  const labels: number[] = [];
  await scoreSamples(scorer, samples, { batchSize, withMasks: false }, (r) => {
    scores.push(r.score);
    labels.push(r.sample.label);
  });
  const normal = scores.filter((_, i) => labels[i] === 0);
  const normalScore = normal.reduce((a, b) => a + b, 0) / Math.max(normal.length, 1);
  const hasBoth = labels.includes(0) && labels.includes(1);
  return { normalScore, auroc: hasBoth ? imageAuroc(scores, labels) : null };
}

async function calibrate(scorer: Scorer, samples: Sample[], batchSize: number, percentile: number) {
  const collector = new CalibrationCollector(samples.length, scorer.imageSize * scorer.imageSize);
  await scoreSamples(scorer, samples, { batchSize, withMasks: true }, (r) =>
    collector.add({ score: r.score, map: r.map, label: r.sample.label, mask: r.mask }),
  );
  return collector.finish(percentile, "real");
}

async function saveCheckpoint(
  path: string,
  instance: MethodInstance,
  state: TrainerState,
  selected: Record<string, { shape: readonly number[]; data: Float32Array }>,
): Promise<void> {
  const tensors: Record<string, { shape: readonly number[]; data: Float32Array }> = { ...selected };
  for (const [name, p] of new ModuleGroup(instance.modules).namedState())
    tensors[`model.${name}`] = { shape: p.shape, data: p.value };
  for (const [name, data] of Object.entries(await instance.optimizerState())) {
    tensors[`optimizer.${name}`] = { shape: [data.length], data };
  }
  await writeSafetensors(path, tensors, { trainer: JSON.stringify(state) });
}

async function loadCheckpoint(
  path: string,
  instance: MethodInstance,
  method: MethodDefinition,
  seed: number,
  selector: EpochSelector,
): Promise<TrainerState> {
  const { tensors, metadata } = await readSafetensors(path);
  const state = JSON.parse(metadata.trainer ?? "null") as TrainerState | null;
  if (!state || state.method !== method.name) {
    throw new UserError(`${path}: the checkpoint is not from a ${method.name} run`);
  }
  if (state.seed !== seed)
    throw new OptionError(`--resume: the checkpoint was trained with --seed ${state.seed}, not ${seed}`);
  for (const [name, p] of new ModuleGroup(instance.modules).namedState()) {
    const t = tensors[`model.${name}`];
    if (!t || t.data.length !== p.size)
      throw new UserError(`${path}: tensor model.${name} is missing or has the wrong size`);
    p.value.set(t.data);
  }
  const optimizer: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(tensors))
    if (name.startsWith("optimizer.")) optimizer[name.slice(10)] = t.data;
  instance.loadOptimizerState(optimizer);
  selector.resume(path, state.selection, tensors, instance.modules);
  return state;
}
