/**
 * Choosing the saved epoch without anomalous test labels (issue 22), for every method through the
 * contract: after each epoch the trainer scores a validation set with the method's inference graph (the
 * same `Scorer` as `test`), and this module keeps a copy of the weights of the best epoch so far, which
 * become the model at the end.
 *
 * Criteria (`--select`):
 * - `last`: the last epoch (the behaviour before issue 22, and the default — see README/results: the
 *   benefit of `synthetic` is not established by enough runs yet, and it costs a second scoring pass of
 *   twice the normal validation images per epoch).
 * - `synthetic`: the normal validation images plus one copy of each with a synthetic defect pasted in
 *   (src/synth/paste.ts; kinds configurable, in turn), made once per run from the run seed, masks kept.
 * - `labelled`: the validation split's own labelled images (MVTec-style validation with defects, or a
 *   manifest's labelled validation rows) — the official SQUID protocol; refused when it has no anomalies.
 *
 * The metric is the image AUROC on that set (pixel AUROC and AUPRO are recorded beside it when masks
 * exist, not used). The best epoch is the first one reaching the highest AUROC (strictly greater
 * replaces). Its weights and buffers are copied into host memory and into every checkpoint, so `--resume`
 * continues with the same choice; at the end they replace the module values before `finishTraining`
 * (so statistics a method takes over the training images belong to the chosen weights) and saving.
 *
 * The validation set is built only from validation images; the test split is never read here. It is
 * held in memory at the input size (synthetic: twice the normal validation images, e.g. 58 × 128² floats
 * for MVTec 3D tire), and its normal half is scored again beside the trainer's own validation pass.
 */
import { batches, type Sample } from "../data/index.js";
import { type Module, ModuleGroup } from "../engine/module.js";
import { OptionError, UserError } from "../errors.js";
import { createImage } from "../io/image.js";
import { aupro, imageAuroc, pixelAuroc } from "../metrics/index.js";
import type { SelectionRecord } from "../model/directory.js";
import type { Scorer } from "../score/scorer.js";
import { type PastedDefectKind, parseDefectKinds, pasteDefect, pastedDefectKinds } from "../synth/paste.js";
import { Random } from "../util/random.js";
import { CalibrationCollector, type CalibrationResult } from "./calibrate.js";

export const selectionCriteria = ["last", "synthetic", "labelled"] as const;
export type SelectionCriterion = (typeof selectionCriteria)[number];

/** `percentile`: of normal validation scores (F1-max when validation has real anomalies); `synthetic-f1`: F1-max on the synthetic validation set. */
export const thresholdRules = ["percentile", "synthetic-f1"] as const;
export type ThresholdRule = (typeof thresholdRules)[number];

/** A validation set held in memory, preprocessed at the model's input size. */
export interface ValidationSet {
  source: "synthetic" | "labelled";
  count: number;
  size: number;
  channels: number;
  /** count·C·H·W in [0, 1]. */
  images: Float32Array;
  /** count·H·W, 1 anomalous; the row of an image without a mask is zero. */
  masks: Float32Array;
  /** Whether image i has a mask (normal images count as having an all-zero one). */
  hasMask: boolean[];
  labels: Array<0 | 1>;
  /** Per image: `good`, the pasted defect kind, or the data set's defect type. */
  kinds: string[];
  /** The pasted defect kinds (synthetic), or []. */
  defects: PastedDefectKind[];
  /** Seed of the pasted defects (synthetic), or null. */
  seed: number | null;
}

export function parseCriterion(value: string | undefined): SelectionCriterion {
  const v = value ?? "last";
  if (!(selectionCriteria as readonly string[]).includes(v))
    throw new OptionError(`--select: unknown criterion "${v}" (allowed: ${selectionCriteria.join(", ")})`);
  return v as SelectionCriterion;
}

export function parseThresholdRule(value: string | undefined): ThresholdRule {
  const v = value ?? "percentile";
  if (!(thresholdRules as readonly string[]).includes(v))
    throw new OptionError(`--threshold-rule: unknown rule "${v}" (allowed: ${thresholdRules.join(", ")})`);
  return v as ThresholdRule;
}

interface SetOptions {
  imageSize: number;
  channels: number;
  batchSize: number;
}

/** Stream id mixed into the run seed so the pasted defects do not share draws with training. */
const SYNTHETIC_STREAM = 0x5e1ec7ed;

/**
 * The normal validation images and, after them, one copy of each with a defect pasted in (kind
 * `defects[i % defects.length]` for image i), each copy from its own generator forked in order from the
 * run seed: the same seed and images give the same set.
 */
export async function buildSyntheticValidation(
  validation: readonly Sample[],
  options: SetOptions & { seed: number; defects?: string | readonly string[] },
): Promise<ValidationSet> {
  const defects = parseDefectKinds(options.defects ?? pastedDefectKinds, "--synthetic-defects");
  const normals = validation.filter((s) => s.label === 0);
  if (normals.length === 0)
    throw new OptionError(
      "--select/--threshold-rule: the validation split has no normal images to paste defects into",
    );
  const { imageSize: size, channels } = options;
  const perImage = channels * size * size;
  const plane = size * size;
  const count = 2 * normals.length;
  const images = new Float32Array(count * perImage);
  const masks = new Float32Array(count * plane);
  let index = 0;
  for await (const batch of batches(normals, {
    batchSize: options.batchSize,
    size,
    channels,
    withMasks: false,
  }))
    for (let i = 0; i < batch.samples.length; i++, index++)
      images.set(batch.images.subarray(i * perImage, (i + 1) * perImage), index * perImage);
  const master = new Random((options.seed ^ SYNTHETIC_STREAM) >>> 0);
  const kinds: string[] = normals.map(() => "good");
  for (let i = 0; i < normals.length; i++) {
    const image = createImage(size, size, channels);
    image.data.set(images.subarray(i * perImage, (i + 1) * perImage));
    const kind = defects[i % defects.length];
    const pasted = pasteDefect(master.fork(), image, kind);
    const target = normals.length + i;
    images.set(pasted.image.data, target * perImage);
    masks.set(pasted.mask.data, target * plane);
    kinds.push(kind);
  }
  const labels = kinds.map((k) => (k === "good" ? 0 : 1)) as Array<0 | 1>;
  return {
    source: "synthetic",
    count,
    size,
    channels,
    images,
    masks,
    hasMask: labels.map(() => true),
    labels,
    kinds,
    defects,
    seed: options.seed,
  };
}

/** The validation split's own images and labels (masks where the data set has them). */
export async function loadLabelledValidation(
  validation: readonly Sample[],
  data: string,
  options: SetOptions,
): Promise<ValidationSet> {
  const labels = validation.map((s) => s.label);
  if (!labels.includes(0) || !labels.includes(1))
    throw new OptionError(
      `--select labelled: the validation split of ${data} has no ${labels.includes(1) ? "normal" : "anomalous"} images (use --select synthetic)`,
    );
  const { imageSize: size, channels } = options;
  const perImage = channels * size * size;
  const plane = size * size;
  const images = new Float32Array(validation.length * perImage);
  const masks = new Float32Array(validation.length * plane);
  let index = 0;
  for await (const batch of batches(validation, {
    batchSize: options.batchSize,
    size,
    channels,
    withMasks: true,
  })) {
    images.set(batch.images, index * perImage);
    if (batch.masks) masks.set(batch.masks, index * plane);
    index += batch.samples.length;
  }
  return {
    source: "labelled",
    count: validation.length,
    size,
    channels,
    images,
    masks,
    hasMask: validation.map((s) => s.label === 0 || s.maskPaths.length > 0),
    labels,
    kinds: validation.map((s) => s.defectType ?? (s.label === 0 ? "good" : "anomalous")),
    defects: [],
    seed: null,
  };
}

/** Raw image scores and maps (count·H·W) of a validation set. */
export interface ScoredSet {
  scores: Float32Array;
  maps: Float32Array;
}

export async function scoreValidationSet(
  scorer: Scorer,
  set: ValidationSet,
  batchSize: number,
): Promise<ScoredSet> {
  const perImage = set.channels * set.size * set.size;
  const plane = set.size * set.size;
  const scores = new Float32Array(set.count);
  const maps = new Float32Array(set.count * plane);
  for (let start = 0; start < set.count; start += batchSize) {
    const n = Math.min(batchSize, set.count - start);
    const out = await scorer.scoreBatch(set.images.subarray(start * perImage, (start + n) * perImage), n);
    scores.set(out.scores, start);
    maps.set(out.maps, start * plane);
  }
  return { scores, maps };
}

/** Validation metrics of one epoch (image AUROC is the criterion). */
export interface SelectionPoint {
  /** 1-based. */
  epoch: number;
  imageAuroc: number;
  pixelAuroc: number | null;
  aupro: number | null;
}

function setMetrics(set: ValidationSet, scored: ScoredSet): Omit<SelectionPoint, "epoch"> {
  const plane = set.size * set.size;
  const withMasks = set.labels.flatMap((label, i) => (label === 1 && set.hasMask[i] ? [i] : []));
  let pixel: number | null = null;
  let pro: number | null = null;
  if (withMasks.length > 0) {
    const kept = set.labels.flatMap((_, i) => (set.hasMask[i] ? [i] : []));
    const grid = (data: Float32Array, i: number) => ({
      data: data.subarray(i * plane, (i + 1) * plane),
      width: set.size,
      height: set.size,
    });
    const maps = kept.map((i) => grid(scored.maps, i));
    const masks = kept.map((i) => (set.labels[i] === 1 ? grid(set.masks, i) : null));
    pixel = pixelAuroc(maps, masks).value;
    pro = aupro(maps, masks);
  }
  return { imageAuroc: imageAuroc(scored.scores, set.labels), pixelAuroc: pixel, aupro: pro };
}

/** Calibrate thresholds on a validation set (F1-max: its anomalies are synthetic or real). */
export async function calibrateOnSet(
  scorer: Scorer,
  set: ValidationSet,
  batchSize: number,
  percentile: number,
): Promise<CalibrationResult> {
  const scored = await scoreValidationSet(scorer, set, batchSize);
  const plane = set.size * set.size;
  const collector = new CalibrationCollector(set.count, plane);
  for (let i = 0; i < set.count; i++) {
    collector.add({
      score: scored.scores[i],
      map: scored.maps.subarray(i * plane, (i + 1) * plane),
      label: set.labels[i],
      mask: set.labels[i] === 1 && set.hasMask[i] ? set.masks.subarray(i * plane, (i + 1) * plane) : null,
    });
  }
  return collector.finish(percentile, set.source === "synthetic" ? "synthetic" : "real");
}

/** What a checkpoint stores of the selection (JSON); the weights go in `selected.*` tensors. */
export interface SelectionState {
  criterion: SelectionCriterion;
  /** 1-based epoch of the kept weights, or null before the first epoch. */
  bestEpoch: number | null;
  bestValue: number | null;
  curve: SelectionPoint[];
}

type Tensors = Record<string, { shape: readonly number[]; data: Float32Array }>;

const TENSOR_PREFIX = "selected.";

/** Follows the criterion over the epochs and keeps the best epoch's weights. */
export class EpochSelector {
  private state: SelectionState;
  private best = new Map<string, Float32Array>();

  constructor(
    readonly criterion: SelectionCriterion,
    /** The set the criterion is computed on; null exactly for `last`. */
    readonly set: ValidationSet | null,
  ) {
    if ((criterion === "last") !== (set === null))
      throw new Error(`selection ${criterion} needs ${criterion === "last" ? "no" : "a"} validation set`);
    this.state = { criterion, bestEpoch: null, bestValue: null, curve: [] };
  }

  /** Whether the criterion follows a validation metric (everything but `last`). */
  get active(): boolean {
    return this.set !== null;
  }

  get bestEpoch(): number | null {
    return this.state.bestEpoch;
  }

  /** The criterion's metric in words, or null for `last`. */
  get metric(): string | null {
    const set = this.set;
    return set
      ? `image AUROC on the ${set.source === "synthetic" ? "synthetic" : "labelled"} validation set`
      : null;
  }

  /**
   * Score the set with the weights after `epoch` (0-based), record the point and, when the image AUROC
   * beats every earlier epoch, copy the weights. Returns the point and whether it improved (null for `last`).
   */
  async afterEpoch(
    epoch: number,
    scorer: Scorer,
    modules: Record<string, Module>,
    batchSize: number,
  ): Promise<{ point: SelectionPoint; improved: boolean } | null> {
    if (!this.set) return null;
    const point = {
      epoch: epoch + 1,
      ...setMetrics(this.set, await scoreValidationSet(scorer, this.set, batchSize)),
    };
    this.state.curve.push(point);
    const improved = this.state.bestValue === null || point.imageAuroc > this.state.bestValue;
    if (improved) {
      this.state.bestEpoch = point.epoch;
      this.state.bestValue = point.imageAuroc;
      this.best = new Map(new ModuleGroup(modules).namedState().map(([name, p]) => [name, p.value.slice()]));
    }
    return { point, improved };
  }

  /** JSON state for the checkpoint. */
  checkpointState(): SelectionState {
    return this.state;
  }

  /** The kept weights as checkpoint tensors. */
  checkpointTensors(modules: Record<string, Module>): Tensors {
    const tensors: Tensors = {};
    for (const [name, p] of new ModuleGroup(modules).namedState()) {
      const data = this.best.get(name);
      if (data) tensors[`${TENSOR_PREFIX}${name}`] = { shape: p.shape, data };
    }
    return tensors;
  }

  /** Continue from a checkpoint's state and tensors; refuses a checkpoint made with another criterion. */
  resume(
    path: string,
    state: SelectionState | undefined,
    tensors: Tensors,
    modules: Record<string, Module>,
  ): void {
    const criterion = state?.criterion ?? "last";
    if (criterion !== this.criterion)
      throw new OptionError(
        `--resume: the checkpoint was trained with --select ${criterion}, not ${this.criterion}`,
      );
    if (!state) return;
    this.state = state;
    this.best = new Map();
    if (state.bestEpoch === null) return;
    for (const [name, p] of new ModuleGroup(modules).namedState()) {
      const t = tensors[`${TENSOR_PREFIX}${name}`];
      if (!t || t.data.length !== p.size)
        throw new UserError(`${path}: tensor ${TENSOR_PREFIX}${name} is missing or has the wrong size`);
      this.best.set(name, t.data);
    }
  }

  /**
   * Put the kept weights into the modules (new arrays, so compiled functions notice); nothing for `last`
   * or when the best epoch is the current one.
   */
  restoreSelected(modules: Record<string, Module>, completedEpochs: number): void {
    if (!this.active || this.state.bestEpoch === null || this.state.bestEpoch === completedEpochs) return;
    for (const [name, p] of new ModuleGroup(modules).namedState())
      p.value = new Float32Array(this.best.get(name)!);
  }

  /** The manifest's `selection` record. */
  record(completedEpochs: number): SelectionRecord {
    const set = this.set;
    return {
      criterion: this.criterion,
      selectedEpoch: this.state.bestEpoch ?? completedEpochs,
      metric: set
        ? `image AUROC on the ${set.source === "synthetic" ? "synthetic " : "labelled "}validation set`
        : null,
      set: set
        ? {
            source: set.source,
            normal: set.labels.filter((l) => l === 0).length,
            anomalous: set.labels.filter((l) => l === 1).length,
            defects:
              set.source === "synthetic" ? set.defects : [...new Set(set.kinds.filter((k) => k !== "good"))],
            seed: set.seed,
          }
        : null,
      curve: this.state.curve,
    };
  }
}
