/**
 * The trainer: streams the training split through a method's `trainBatch` (then its `endEpoch`,
 * when it has one), refuses more epochs than the method's `maxEpochs`, validates every epoch,
 * checkpoints atomically, resumes, lets the method finish (`finishTraining`, e.g. statistics over the
 * training images; also before each epoch's validation when that validation chooses an epoch or stops
 * the run, and for checkpoint weights via `refitTrainingStatistics`), and finally calibrates thresholds
 * on validation data and writes the model directory. It never looks at the test split and never
 * special-cases a method. Which epoch becomes the model (`select`) and the synthetic-anomaly threshold
 * rule are in selection.ts.
 *
 * Reproducibility: the data order and every random draw of an epoch come from generators derived from
 * (seed, epoch, batch), so `--resume` from the checkpoint of epoch e continues exactly as an
 * uninterrupted run would. Ctrl-C (SIGINT) or SIGTERM stops after the current batch, keeps the
 * checkpoint of the last completed epoch and exits with 130 or 143; a non-finite loss or gradient (the
 * step commits nothing and names the first non-finite parameter), or a non-finite
 * validation score, stops with the epoch named and the last checkpoint whose loss and validation were
 * finite untouched. The checkpoint records every setting that shapes the run (method, config, image
 * and batch size, channels, seed, augmentation, early stopping, layout, category) and fingerprints of
 * the training and validation file lists; `--resume` refuses a run that differs and lists the
 * differences. Only `--epochs` may change on resume (continuing a run for longer).
 *
 * `--out` is an output folder (util/output.ts): refused when non-empty unless resuming or
 * `--overwrite`, locked against a second process, cleaned of orphan temporary files, removed again when
 * a run fails before writing anything. Memory is estimated before anything is compiled
 * (methods/memory.ts). A training set smaller than the batch size trains with one batch of the whole
 * set (a one-line notice), as the official SQUID code's DataLoader does (it drops no partial batch).
 * Validation masks of another size than their image are returned as warnings (the CLI prints them).
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { batches, type Dataset, loadDataset, type Sample, summarize } from "../data/index.js";
import { NonFiniteError } from "../engine/index.js";
import { ModuleGroup } from "../engine/module.js";
import { readSafetensors, writeSafetensors } from "../engine/safetensors.js";
import { InterruptedError, OptionError, UserError } from "../errors.js";
import { readImage } from "../io/index.js";
import type { ImageBatch, MethodInstance } from "../methods/contract.js";
import { checkMemory } from "../methods/memory.js";
import { getMethod, parseMethodConfig } from "../methods/registry.js";
import { imageAuroc } from "../metrics/index.js";
import {
  loadModel,
  MANIFEST_FILE,
  MODEL_FORMAT_VERSION,
  type ModelManifest,
  saveModelDirectory,
  WEIGHTS_FILE,
} from "../model/directory.js";
import { Scorer, scoreSamples } from "../score/scorer.js";
import { openOutputFolder } from "../util/output.js";
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
  /** Replace the content of a non-empty `out`. */
  overwrite?: boolean;
  /** Memory limit in bytes for the estimate (default: free memory). */
  maxMemory?: number;
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
  /** Problems that did not stop training, one line each (e.g. a validation mask of another size). */
  warnings: string[];
}

export class TrainingDivergedError extends UserError {
  override name = "TrainingDivergedError";
}

const CHECKPOINT_FILE = "checkpoint.safetensors";

/** Everything that shapes a run except its length; a resumed run must match it exactly. */
interface RunSettings {
  method: string;
  config: unknown;
  imageSize: number;
  batchSize: number;
  channels: number;
  seed: number;
  augmentation: Augmentation;
  earlyStopping: number;
  layout: string;
  category: string | null;
  trainingFiles: FileListFingerprint;
  validationFiles: FileListFingerprint;
}

interface FileListFingerprint {
  count: number;
  sha256: string;
}

interface TrainerState {
  completedEpochs: number;
  history: EpochRecord[];
  bestNormalScore: number;
  epochsWithoutImprovement: number;
  settings: RunSettings;
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

/** A seed is an integer in [0, 2^32 - 1]. */
export function checkSeed(seed: number | undefined): number {
  const value = seed ?? 0;
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
    throw new OptionError(`--seed must be a non-negative integer (0 to 4294967295), got ${seed}`);
  return value;
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const checkpointPath = join(options.out, CHECKPOINT_FILE);
  const out = await openOutputFolder(options.out, {
    overwrite: options.overwrite,
    resuming: options.resume,
    hint: existsSync(checkpointPath) ? ", or continue its checkpoint with --resume" : "",
  });
  let failed = true;
  try {
    const result = await trainInto(options, checkpointPath);
    failed = false;
    return result;
  } finally {
    await out.release(failed);
  }
}

async function trainInto(options: TrainOptions, checkpointPath: string): Promise<TrainResult> {
  const started = Date.now();
  const method = getMethod(options.method);
  const config = parseMethodConfig(
    method,
    await readConfig(options.config),
    options.config ? `--config ${options.config}` : "config",
  );
  const epochs = positiveInt("--epochs", options.epochs, method.defaults.epochs);
  if (method.maxEpochs && epochs > method.maxEpochs.epochs)
    throw new OptionError(
      `--epochs ${epochs}: ${method.name} ${method.maxEpochs.reason}; use --epochs ${method.maxEpochs.epochs}`,
    );
  const requestedBatchSize = positiveInt("--batch-size", options.batchSize, method.defaults.batchSize);
  const imageSize = positiveInt("--image-size", options.imageSize, method.defaults.imageSize);
  const seed = checkSeed(options.seed);
  const criterion = parseCriterion(options.select);
  const thresholdRule = parseThresholdRule(options.thresholdRule);
  const sizeProblem = method.checkImageSize(config, imageSize);
  if (sizeProblem) throw new OptionError(`--image-size ${imageSize}: ${sizeProblem}`);
  if (options.resume && !existsSync(checkpointPath))
    throw new OptionError(`--resume: no checkpoint in ${options.out}`);
  const progress = createProgress({ quiet: options.quiet });

  const dataset = await loadDataset(options.data, {
    layout: options.layout as never,
    category: options.category,
    seed,
  });
  progress.log(
    `data: ${options.data} (layout ${dataset.layout}${dataset.detected ? ", detected" : ""}) — ${describe(dataset)}`,
  );
  if (dataset.train.length === 0) throw new OptionError(`${options.data}: no training images`);
  const batchSize = Math.min(requestedBatchSize, dataset.train.length);
  if (batchSize < requestedBatchSize)
    progress.log(
      `batch size ${batchSize}: the training set has only ${batchSize} images (asked for ${requestedBatchSize})`,
    );
  const first = await readImage(dataset.train[0].path, { slice: dataset.train[0].slice });
  const channels = method.channels(config, first.channels);
  checkMemory(
    method,
    config,
    { imageSize, channels, batchSize, training: true },
    `--image-size ${imageSize} --batch-size ${batchSize}`,
    options.maxMemory,
  );
  const augmentation: Augmentation = {
    ...noAugmentation,
    ...method.augmentation?.(config),
    ...options.augmentation,
  };
  const settings: RunSettings = {
    method: method.name,
    config,
    imageSize,
    batchSize,
    channels,
    seed,
    augmentation,
    earlyStopping: options.earlyStoppingPatience ?? 0,
    layout: dataset.layout,
    category: options.category ?? null,
    trainingFiles: fingerprint(options.data, dataset.train),
    validationFiles: fingerprint(options.data, dataset.validation),
  };
  let previous: { state: TrainerState; tensors: Checkpoint["tensors"] } | undefined;
  if (options.resume) {
    previous = await readCheckpoint(checkpointPath);
    const differences = settingDifferences(previous.state.settings, settings);
    if (differences.length > 0)
      throw new OptionError(
        `--resume: the checkpoint in ${options.out} is from a run with other settings: ${differences.join(", ")}`,
      );
  }
  if (!options.resume && options.overwrite) {
    // Everything is checked: the earlier model goes now, so the folder never mixes two runs.
    for (const file of [CHECKPOINT_FILE, WEIGHTS_FILE, MANIFEST_FILE])
      await rm(join(options.out, file), { force: true });
  }
  const instance = method.create(config, { imageSize, channels, random: new Random(seed) });

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

  let state: TrainerState = {
    completedEpochs: 0,
    history: [],
    bestNormalScore: Number.POSITIVE_INFINITY,
    epochsWithoutImprovement: 0,
    settings,
  };
  if (previous) {
    state = { ...previous.state, settings };
    restoreCheckpoint(checkpointPath, previous.tensors, instance);
    selector.resume(checkpointPath, previous.state.selection, previous.tensors, instance.modules);
    progress.log(`resuming after epoch ${state.completedEpochs} from ${checkpointPath}`);
  }

  let interrupted: "SIGINT" | "SIGTERM" | undefined;
  const onSigint = () => {
    interrupted = "SIGINT";
  };
  const onSigterm = () => {
    interrupted = "SIGTERM";
  };
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigterm);
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
        isInterrupted: () => interrupted !== undefined,
      });
      if (interrupted) break;
      Object.assign(losses, await instance.endEpoch?.(epoch, epochs));
      // A method whose score uses statistics over the training images (DAAD's standardised mix,
      // SQUID's logit µ/σ) is scored with this epoch's statistics whenever the epoch's scores choose
      // something: otherwise selection and early stopping would rank epochs by an unstandardised score.
      if (selector.active || patience > 0)
        await instance.finishTraining?.(trainingImages(dataset.train, batchSize, imageSize, channels));
      const validation = await validate(scorer, dataset.validation, batchSize);
      if (validation.nonFinite > 0)
        throw new TrainingDivergedError(
          `training diverged at epoch ${epoch + 1}: ${validation.nonFinite} of ${dataset.validation.length} validation scores are not finite; ${keptCheckpoint(state.completedEpochs)}`,
        );
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
        `interrupted (${interrupted}); the checkpoint after epoch ${state.completedEpochs} is in ${checkpointPath} (continue with --resume)`,
        interrupted,
      );
    }
    selector.restoreSelected(instance.modules, state.completedEpochs);
    if (selector.active) progress.log(`selected epoch ${selector.bestEpoch} (${selector.metric})`);
    await instance.finishTraining?.(trainingImages(dataset.train, batchSize, imageSize, channels));
    const warnings: string[] = [];
    const onWarning = (warning: string) => warnings.push(warning);
    const percentile = options.thresholdPercentile ?? 99;
    const calibration =
      synthetic && thresholdRule === "synthetic-f1"
        ? await calibrateOnSet(scorer, synthetic, batchSize, percentile)
        : await calibrate(scorer, dataset.validation, batchSize, percentile, onWarning);
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
        ...(batchSize < requestedBatchSize ? { requestedBatchSize } : {}),
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
      warnings,
    };
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigterm);
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

/** What a run stopped by non-finite numbers leaves behind, given the epochs completed before it. */
function keptCheckpoint(completedEpochs: number): string {
  return completedEpochs > 0
    ? `the checkpoint after epoch ${completedEpochs} is kept`
    : "no checkpoint was kept";
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
        // Epochs before this one all completed with a checkpoint (one is written after every epoch).
        throw new TrainingDivergedError(
          `training diverged at epoch ${o.epoch + 1}, step ${iteration + 1}: ${error.message}; ${keptCheckpoint(o.epoch)}`,
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

/**
 * Recompute, for the weights now in a model directory, what `finishTraining` derives from the training
 * images (e.g. DAAD's standardisation statistics), and save them in place. For weights put into a model
 * directory from an epoch checkpoint (scripts/epoch-curve.ts): a checkpoint holds the statistics'
 * untrained defaults, since the trainer computes them only when training finishes. The training split
 * is loaded exactly as the run loaded it (data, layout, category and seed from the manifest, `data`
 * overriding the path). Returns false, changing nothing, for a method without training statistics.
 */
export async function refitTrainingStatistics(modelDir: string, data?: string): Promise<boolean> {
  const { manifest, instance } = await loadModel(modelDir);
  try {
    if (!instance.finishTraining) return false;
    const training = manifest.training as {
      data: string;
      layout: string;
      category: string | null;
      seed: number;
      batchSize: number;
    };
    const dataset = await loadDataset(data ?? training.data, {
      layout: training.layout as never,
      category: training.category ?? undefined,
      seed: training.seed,
    });
    await instance.finishTraining(
      trainingImages(dataset.train, training.batchSize, manifest.imageSize, manifest.channels),
    );
    await saveModelDirectory(modelDir, instance, manifest);
    return true;
  } finally {
    await instance.dispose();
  }
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
  const nonFinite = scores.filter((s) => !Number.isFinite(s)).length;
  const normal = scores.filter((_, i) => labels[i] === 0);
  const normalScore = normal.reduce((a, b) => a + b, 0) / Math.max(normal.length, 1);
  const hasBoth = labels.includes(0) && labels.includes(1);
  const auroc = hasBoth && nonFinite === 0 ? imageAuroc(scores, labels) : null;
  return { normalScore, auroc, nonFinite };
}

async function calibrate(
  scorer: Scorer,
  samples: Sample[],
  batchSize: number,
  percentile: number,
  onWarning: (message: string) => void,
) {
  const collector = new CalibrationCollector(samples.length, scorer.imageSize * scorer.imageSize);
  await scoreSamples(scorer, samples, { batchSize, withMasks: true, onWarning }, (r) =>
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

type Checkpoint = Awaited<ReturnType<typeof readSafetensors>>;

async function readCheckpoint(
  path: string,
): Promise<{ state: TrainerState; tensors: Checkpoint["tensors"] }> {
  const { tensors, metadata } = await readSafetensors(path);
  let state: TrainerState | null = null;
  try {
    state = JSON.parse(metadata.trainer ?? "null") as TrainerState | null;
  } catch {
    state = null;
  }
  if (!state) throw new UserError(`${path}: not an anomalyscope training checkpoint`);
  if (!state.settings)
    throw new UserError(
      `${path}: the checkpoint records no run settings (written by an older anomalyscope); start over with --overwrite`,
    );
  return { state, tensors };
}

function restoreCheckpoint(path: string, tensors: Checkpoint["tensors"], instance: MethodInstance): void {
  for (const [name, p] of new ModuleGroup(instance.modules).namedState()) {
    const t = tensors[`model.${name}`];
    if (t && p.resizableTo(t.shape)) p.resize(t.shape, t.data);
    else if (!t || t.data.length !== p.size)
      throw new UserError(`${path}: tensor model.${name} is missing or has the wrong size`);
    else p.assign(t.data);
  }
  const optimizer: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(tensors))
    if (name.startsWith("optimizer.")) optimizer[name.slice(10)] = t.data;
  instance.loadOptimizerState(optimizer);
}

/** Count and SHA-256 of the sorted (path relative to the data root, slice) list. */
function fingerprint(root: string, samples: readonly Sample[]): FileListFingerprint {
  const lines = samples
    .map((s) => `${relative(resolve(root), s.path)}\t${s.slice ?? ""}`)
    .sort()
    .join("\n");
  return { count: samples.length, sha256: createHash("sha256").update(lines).digest("hex").slice(0, 16) };
}

const SETTING_NAMES: Record<keyof RunSettings, string> = {
  method: "--method",
  config: "--config",
  imageSize: "--image-size",
  batchSize: "--batch-size",
  channels: "channels",
  seed: "--seed",
  augmentation: "augmentation",
  earlyStopping: "--early-stopping",
  layout: "--layout",
  category: "--category",
  trainingFiles: "training files",
  validationFiles: "validation files",
};

/** "--image-size 64 (checkpoint 32)" for every setting that differs. */
function settingDifferences(saved: RunSettings, now: RunSettings): string[] {
  const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  const differences: string[] = [];
  for (const key of Object.keys(SETTING_NAMES) as (keyof RunSettings)[]) {
    const [a, b] = [saved[key], now[key]];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    const name = SETTING_NAMES[key];
    if (key === "trainingFiles" || key === "validationFiles") {
      const [x, y] = [a as FileListFingerprint, b as FileListFingerprint];
      differences.push(
        `${name} differ (${y.count} files, checkpoint ${x.count}; list ${y.sha256}, checkpoint ${x.sha256})`,
      );
    } else if (key === "config" || key === "augmentation") {
      const [x, y] = [a as Record<string, unknown>, b as Record<string, unknown>];
      const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].filter(
        (k) => JSON.stringify(x[k]) !== JSON.stringify(y[k]),
      );
      differences.push(
        `${name} ${keys.map((k) => `${k} ${show(y[k])} (checkpoint ${show(x[k])})`).join(", ")}`,
      );
    } else differences.push(`${name} ${show(b)} (checkpoint ${show(a)})`);
  }
  return differences;
}
