/**
 * Whole synthetic data sets on disk: normal training images, normal and anomalous test images (about
 * half anomalous, defect types in turn) and their 0/255 masks, in the MVTec or BMAD folder layout,
 * plus `synth.json` describing what was made. Every file depends only on the options, so the same seed
 * gives byte-identical files; the train split does not depend on `nTest` and vice versa.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { OptionError } from "../errors.js";
import { writePng } from "../io/png.js";
import { writeFileAtomic } from "../util/atomic.js";
import { Random } from "../util/random.js";
import { generateIndustrialImage, industrialDefects, industrialStyle } from "./industrial.js";
import { generateMedicalImage, medicalDefects } from "./medical.js";
import { generateObjectImage, objectDefects } from "./object.js";
import {
  type ImageShape,
  type IndustrialTexture,
  industrialTextures,
  type SynthKind,
  type SynthSample,
  synthKinds,
} from "./types.js";

export type SynthLayout = "mvtec" | "bmad";
export const synthLayouts: readonly SynthLayout[] = ["mvtec", "bmad"];

export interface SynthOptions {
  /** Output folder: created if missing; must be empty unless `overwrite` is set. */
  out: string;
  /**
   * Replace an earlier synthetic data set in `out`: its `train`, `valid`, `test` and `ground_truth`
   * folders and `synth.json` are removed first. Refused when `out` has no `synth.json`.
   */
  overwrite?: boolean;
  kind?: SynthKind;
  /** Texture family of an industrial data set (default woven). */
  texture?: IndustrialTexture;
  nTrain?: number;
  nTest?: number;
  /** Image side in pixels, at least 32. */
  size?: number;
  channels?: 1 | 3;
  seed?: number;
  layout?: SynthLayout;
  /** Called after each written image with the number done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** Image counts of one split: `good` plus one entry per defect type. */
export type SplitCounts = Record<string, number>;

/** What `generateDataset` wrote; also stored as `synth.json` in the output folder. */
export interface SynthSummary {
  generator: "anomalyscope synth";
  kind: SynthKind;
  texture?: IndustrialTexture;
  layout: SynthLayout;
  seed: number;
  size: number;
  channels: 1 | 3;
  defects: string[];
  counts: { train: SplitCounts; valid?: SplitCounts; test: SplitCounts };
}

type Generator = (rng: Random, defect: string) => SynthSample;

function isCount(value: number, min: number): boolean {
  return Number.isInteger(value) && value >= min;
}

function validate(options: SynthOptions): Required<
  Omit<SynthOptions, "onProgress" | "texture" | "overwrite">
> & {
  texture?: IndustrialTexture;
} {
  const kind = options.kind ?? "industrial";
  const resolved = {
    out: options.out,
    kind,
    nTrain: options.nTrain ?? 200,
    nTest: options.nTest ?? 60,
    size: options.size ?? 128,
    channels: options.channels ?? 1,
    seed: options.seed ?? 0,
    layout: options.layout ?? "mvtec",
    texture: kind === "industrial" ? (options.texture ?? "woven") : options.texture,
  };
  if (!synthKinds.includes(kind))
    throw new OptionError(`--kind: unknown kind "${kind}" (allowed: ${synthKinds.join(", ")})`);
  if (!synthLayouts.includes(resolved.layout))
    throw new OptionError(
      `--layout: unknown layout "${resolved.layout}" (allowed: ${synthLayouts.join(", ")})`,
    );
  if (resolved.texture !== undefined && kind !== "industrial")
    throw new OptionError("--texture applies only to --kind industrial");
  if (resolved.texture !== undefined && !industrialTextures.includes(resolved.texture))
    throw new OptionError(
      `--texture: unknown texture "${resolved.texture}" (allowed: ${industrialTextures.join(", ")})`,
    );
  if (!isCount(resolved.nTrain, 1))
    throw new OptionError(`--n-train must be an integer ≥ 1, got ${resolved.nTrain}`);
  if (!isCount(resolved.nTest, 2))
    throw new OptionError(`--n-test must be an integer ≥ 2, got ${resolved.nTest}`);
  if (!isCount(resolved.size, 32) || resolved.size > 4096)
    throw new OptionError(`--size must be an integer from 32 to 4096, got ${resolved.size}`);
  if (resolved.channels !== 1 && resolved.channels !== 3)
    throw new OptionError(`--channels must be 1 or 3, got ${resolved.channels}`);
  if (!isCount(resolved.seed, 0) || resolved.seed > 0xffffffff)
    throw new OptionError(`--seed must be an integer from 0 to 4294967295, got ${resolved.seed}`);
  if (!resolved.out) throw new OptionError("--out is required");
  return resolved;
}

/** One planned output image: which split, its defect type (or good) and file paths. */
interface PlannedImage {
  split: "train" | "valid" | "test";
  defect: string;
  imagePath: string;
  maskPath?: string;
}

function fileName(index: number, total: number): string {
  return `${String(index).padStart(Math.max(3, String(total - 1).length), "0")}.png`;
}

/** The defects of `count` anomalous images: the defect types in turn. */
function defectSequence(defects: readonly string[], count: number): string[] {
  return Array.from({ length: count }, (_, i) => defects[i % defects.length]);
}

function plan(
  layout: SynthLayout,
  defects: readonly string[],
  counts: { train: number; valid: number; test: number },
): PlannedImage[] {
  const images: PlannedImage[] = [];
  const split = (name: "train" | "valid" | "test", total: number) => {
    const anomalous = name === "train" ? 0 : Math.floor(total / 2);
    const good = total - anomalous;
    const sequence = defectSequence(defects, anomalous);
    if (layout === "bmad") {
      for (let i = 0; i < good; i++)
        images.push({ split: name, defect: "good", imagePath: join(name, "good", "img", fileName(i, good)) });
      sequence.forEach((defect, i) => {
        const file = fileName(i, anomalous);
        images.push({
          split: name,
          defect,
          imagePath: join(name, "Ungood", "img", file),
          maskPath: join(name, "Ungood", "anomaly_mask", file),
        });
      });
      return;
    }
    for (let i = 0; i < good; i++)
      images.push({ split: name, defect: "good", imagePath: join(name, "good", fileName(i, good)) });
    for (const defect of defects) {
      const ofType = sequence.filter((d) => d === defect).length;
      for (let i = 0; i < ofType; i++) {
        const file = fileName(i, ofType);
        images.push({
          split: name,
          defect,
          imagePath: join(name, defect, file),
          maskPath: join("ground_truth", defect, file.replace(/\.png$/, "_mask.png")),
        });
      }
    }
  };
  split("train", counts.train);
  if (counts.valid > 0) split("valid", counts.valid);
  split("test", counts.test);
  return images;
}

function countsOf(images: PlannedImage[], split: PlannedImage["split"]): SplitCounts {
  const counts: SplitCounts = {};
  for (const image of images)
    if (image.split === split) counts[image.defect] = (counts[image.defect] ?? 0) + 1;
  return counts;
}

/** The defect types of a kind. */
export function defectsOf(kind: SynthKind): readonly string[] {
  return kind === "industrial" ? industrialDefects : kind === "object" ? objectDefects : medicalDefects;
}

/** Number of images generated before their PNGs are written together. */
const batchSize = 16;

/** Folders and files a data set consists of (removed by `overwrite`). */
const ownEntries = ["train", "valid", "test", "ground_truth", "synth.json"];

/** Make sure `out` is empty or missing, or (with `overwrite`) clear an earlier synthetic data set from it. */
async function prepareOutput(out: string, overwrite: boolean): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(out);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    if ((error as NodeJS.ErrnoException).code === "ENOTDIR") throw new OptionError(`--out ${out} is a file`);
    throw error;
  }
  if (entries.length === 0) return;
  if (!overwrite)
    throw new OptionError(`--out ${out} is not empty (use --overwrite to replace a synthetic data set)`);
  if (!entries.includes("synth.json"))
    throw new OptionError(
      `--out ${out}: --overwrite only replaces a folder made by synth (no synth.json found)`,
    );
  for (const entry of ownEntries) await rm(join(out, entry), { recursive: true, force: true });
}

/** Generate a synthetic data set into `options.out`. Invalid options throw `OptionError`. */
export async function generateDataset(options: SynthOptions): Promise<SynthSummary> {
  const o = validate(options);
  await prepareOutput(o.out, options.overwrite ?? false);
  const master = new Random(o.seed);
  const styleRng = master.fork();
  const splitRngs = { train: master.fork(), valid: master.fork(), test: master.fork() };
  const shape: ImageShape = { size: o.size, channels: o.channels };
  const defects = defectsOf(o.kind);
  let generate: Generator;
  if (o.kind === "industrial") {
    const style = industrialStyle(styleRng, o.texture);
    generate = (rng, defect) =>
      generateIndustrialImage(
        rng,
        { ...shape, style },
        defect as (typeof industrialDefects)[number] | "good",
      );
  } else if (o.kind === "object") {
    generate = (rng, defect) =>
      generateObjectImage(rng, shape, defect as (typeof objectDefects)[number] | "good");
  } else {
    generate = (rng, defect) =>
      generateMedicalImage(rng, shape, defect as (typeof medicalDefects)[number] | "good");
  }
  const nValid = o.layout === "bmad" ? Math.max(2, Math.round(o.nTest / 5)) : 0;
  const images = plan(o.layout, defects, { train: o.nTrain, valid: nValid, test: o.nTest });

  let done = 0;
  for (let start = 0; start < images.length; start += batchSize) {
    const writes: Promise<void>[] = [];
    for (const planned of images.slice(start, start + batchSize)) {
      const sample = generate(splitRngs[planned.split].fork(), planned.defect);
      writes.push(writePng(join(o.out, planned.imagePath), sample.image));
      if (planned.maskPath) writes.push(writePng(join(o.out, planned.maskPath), sample.mask));
    }
    await Promise.all(writes);
    done = Math.min(images.length, start + batchSize);
    options.onProgress?.(done, images.length);
  }

  const summary: SynthSummary = {
    generator: "anomalyscope synth",
    kind: o.kind,
    ...(o.texture !== undefined ? { texture: o.texture } : {}),
    layout: o.layout,
    seed: o.seed,
    size: o.size,
    channels: o.channels,
    defects: [...defects],
    counts: {
      train: countsOf(images, "train"),
      ...(nValid > 0 ? { valid: countsOf(images, "valid") } : {}),
      test: countsOf(images, "test"),
    },
  };
  await writeFileAtomic(join(o.out, "synth.json"), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}
