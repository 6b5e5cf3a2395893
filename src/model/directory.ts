/**
 * The model directory: `model.safetensors` (every network's parameters and buffers, named
 * `<network>.<path>`) and `anomalyscope.json` (format version, method, config, input size, channels,
 * preprocessing, scoring rule, calibration and thresholds with their provenance, training-data
 * summary, validation metrics, how the saved epoch was selected with its validation curve, package
 * version). Both are written atomically. Loading checks the format version, the method, the memory
 * scoring will need (methods/memory.ts) and every tensor, and fails with a `UserError` naming the file.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { ModuleGroup } from "../engine/index.js";
import { loadSafetensors, saveSafetensors } from "../engine/safetensors.js";
import { InputFileError, UserError } from "../errors.js";
import type { MethodDefinition, MethodInstance } from "../methods/contract.js";
import { checkMemory } from "../methods/memory.js";
import { getMethod, parseMethodConfig } from "../methods/registry.js";
import type { Calibration } from "../score/graph.js";
import { type ThresholdChoice, thresholdRuleNames } from "../score/threshold.js";
import { writeFileAtomic } from "../util/atomic.js";
import { Random } from "../util/random.js";

export const MODEL_FORMAT_VERSION = 1;
export const WEIGHTS_FILE = "model.safetensors";
export const MANIFEST_FILE = "anomalyscope.json";

const scoringSchema = z.object({
  smoothingSigma: z.number(),
  imageScore: z.enum(["method", "map-max", "map-mean", "map-topk-mean"]),
  imageScoreFromSmoothed: z.boolean(),
  notes: z.array(z.string()),
});

const thresholdSchema = z.object({
  threshold: z.number(),
  provenance: z.string(),
  rule: z.enum(thresholdRuleNames),
});

const selectionSchema = z.object({
  criterion: z.enum(["last", "synthetic", "labelled"]),
  /** 1-based epoch whose weights were saved. */
  selectedEpoch: z.number().int(),
  /** The criterion's metric, or null for `last`. */
  metric: z.string().nullable(),
  /** The validation set the criterion was computed on, or null for `last`. */
  set: z
    .object({
      source: z.enum(["synthetic", "labelled"]),
      normal: z.number().int(),
      anomalous: z.number().int(),
      defects: z.array(z.string()),
      seed: z.number().int().nullable(),
    })
    .nullable(),
  /** Validation metrics after every epoch (1-based), empty for `last`. */
  curve: z.array(
    z.object({
      epoch: z.number().int(),
      imageAuroc: z.number(),
      pixelAuroc: z.number().nullable(),
      aupro: z.number().nullable(),
    }),
  ),
});

export type SelectionRecord = z.infer<typeof selectionSchema>;

export const manifestSchema = z.object({
  format: z.literal("anomalyscope-model"),
  formatVersion: z.number().int(),
  packageVersion: z.string(),
  method: z.string(),
  config: z.record(z.string(), z.unknown()),
  imageSize: z.number().int().positive(),
  channels: z.number().int().positive(),
  preprocessing: z.object({
    resize: z.string(),
    centerCrop: z.boolean(),
    range: z.string(),
  }),
  scoring: scoringSchema,
  calibration: z.object({
    imageThreshold: z.number(),
    imageMin: z.number(),
    imageMax: z.number(),
    pixelThreshold: z.number(),
    pixelMin: z.number(),
    pixelMax: z.number(),
  }),
  thresholds: z.object({ image: thresholdSchema, pixel: thresholdSchema }),
  training: z.record(z.string(), z.unknown()),
  validation: z.record(z.string(), z.unknown()),
  /** How the saved epoch was chosen (absent in models trained before issue 22: their last epoch). */
  selection: selectionSchema.optional(),
});

export type ModelManifest = z.infer<typeof manifestSchema>;

export interface ThresholdRecord {
  image: ThresholdChoice;
  pixel: ThresholdChoice;
}

/** Write the weights and the manifest of a trained model. */
export async function saveModelDirectory(
  dir: string,
  instance: MethodInstance,
  manifest: ModelManifest,
): Promise<void> {
  await saveSafetensors(join(dir, WEIGHTS_FILE), new ModuleGroup(instance.modules), {
    method: manifest.method,
  });
  await writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

export interface LoadedModel {
  manifest: ModelManifest;
  instance: MethodInstance;
  calibration: Calibration;
}

export async function readManifest(dir: string): Promise<ModelManifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new InputFileError(path, "missing", "not a model directory: anomalyscope.json is absent");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InputFileError(path, "corrupt", `invalid JSON: ${(error as Error).message}`);
  }
  const version = (raw as { formatVersion?: unknown })?.formatVersion;
  if (typeof version === "number" && version > MODEL_FORMAT_VERSION) {
    throw new UserError(
      `${path}: model format version ${version} is newer than this anomalyscope supports (${MODEL_FORMAT_VERSION}); upgrade anomalyscope`,
    );
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputFileError(path, "corrupt", `${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}

export interface LoadModelOptions {
  /** Images per scoring batch, for the memory estimate (default 1). */
  batchSize?: number;
  /** Memory limit in bytes (default: free memory). */
  maxMemory?: number;
}

function methodOf(dir: string, name: string): MethodDefinition {
  try {
    return getMethod(name);
  } catch (error) {
    if (error instanceof UserError) throw new UserError(`${join(dir, MANIFEST_FILE)}: ${error.message}`);
    throw error;
  }
}

/**
 * Load a model directory: its manifest, a method instance with the stored weights, the calibration.
 * Refuses (before building the network) when scoring batches of `batchSize` would need more memory
 * than the limit.
 */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const manifest = await readManifest(dir);
  const method = methodOf(dir, manifest.method);
  const config = parseMethodConfig(method, manifest.config, join(dir, MANIFEST_FILE));
  const batchSize = options.batchSize ?? 1;
  checkMemory(
    method,
    config,
    { imageSize: manifest.imageSize, channels: manifest.channels, batchSize, training: false },
    `${dir}: scoring at ${manifest.imageSize} px in batches of ${batchSize}`,
    options.maxMemory,
  );
  const instance = method.create(config, {
    imageSize: manifest.imageSize,
    channels: manifest.channels,
    random: new Random(0),
  });
  await loadSafetensors(join(dir, WEIGHTS_FILE), new ModuleGroup(instance.modules));
  for (const module of Object.values(instance.modules)) module.eval();
  return { manifest, instance, calibration: manifest.calibration };
}
