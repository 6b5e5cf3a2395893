/**
 * Streaming batches for training and scoring: `batches(samples, options)` is an async generator that
 * decodes and preprocesses images on demand. At most `prefetch` batches (default 2) are decoded ahead of
 * the batch the consumer holds, so memory is bounded by (prefetch + 1) batches whatever the folder size.
 *
 * Order: sample order, or a seeded Fisher-Yates shuffle when `shuffle` is set. Every batch carries
 * `resume = { rngState, nextBatch }`: `rngState` is the generator state before this pass's shuffle, so
 * `batches(samples, { ...options, random: Random.fromState(rngState), startBatch: nextBatch })` continues
 * the same stream after a restart. Pass one `random` across epochs to reshuffle every epoch (the generator
 * advances it); with only `seed`, every call yields the same order.
 */

import { OptionError } from "../errors.js";
import { type Image, readImage } from "../io/index.js";
import { Random } from "../util/random.js";
import { mapConcurrent } from "./pool.js";
import {
  type GreyMode,
  preprocessImage,
  preprocessMasks,
  type ResizeKernel,
  type Size,
  toSize,
} from "./preprocess.js";
import type { Sample } from "./types.js";

export interface BatchOptions {
  batchSize: number;
  /** Model input size. */
  size: number | Size;
  /** Model input channels (1 or 3); images keep theirs when omitted (then all must agree). */
  channels?: number;
  kernel?: ResizeKernel;
  centreCrop?: boolean;
  greyMode?: GreyMode;
  shuffle?: boolean;
  /** Shuffle seed when `random` is not given (default 0). */
  seed?: number;
  /** Shuffle generator; advanced by one shuffle per call. */
  random?: Random;
  /** First batch to produce (resume mid-pass); earlier batches are skipped without decoding. */
  startBatch?: number;
  /** Batches decoded ahead of the one being consumed (default 2). */
  prefetch?: number;
  /** Drop a last, smaller batch. */
  dropLast?: boolean;
  /** Also decode masks (union of `maskPaths`, zero for samples without masks). */
  withMasks?: boolean;
  /** Receives one line per mask whose size differs from its image's (it is resized nearest-neighbour). */
  onWarning?: (message: string) => void;
  /** Images decoded concurrently inside one batch (default 8). */
  concurrency?: number;
  /** The decoder (file -> Image); injectable for tests and other sources. */
  read?: (path: string, sample: Sample) => Promise<Image>;
}

export interface Batch {
  /** N x C x H x W, float32 in [0, 1]. */
  images: Float32Array;
  /** N x 1 x H x W, 0/1, when `withMasks`. */
  masks: Float32Array | null;
  samples: Sample[];
  /** Index of this batch in the pass. */
  index: number;
  resume: { rngState: number[] | null; nextBatch: number };
}

export async function* batches(samples: readonly Sample[], options: BatchOptions): AsyncGenerator<Batch> {
  const { batchSize } = options;
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new OptionError(`batch size must be a positive integer, got ${batchSize}`);
  const prefetch = options.prefetch ?? 2;
  if (!(Number.isInteger(prefetch) && prefetch >= 0))
    throw new OptionError(`prefetch must be a non-negative integer, got ${prefetch}`);
  const size = toSize(options.size);
  let rngState: number[] | null = null;
  let order = samples.map((_, i) => i);
  if (options.shuffle) {
    const random = options.random ?? new Random(options.seed ?? 0);
    rngState = random.state();
    order = random.shuffle(order);
  }
  const count = options.dropLast ? Math.floor(order.length / batchSize) : Math.ceil(order.length / batchSize);
  const pending: Promise<Batch>[] = [];
  let next = options.startBatch ?? 0;
  const launch = () => {
    while (pending.length < prefetch + 1 && next < count) {
      const index = next++;
      const members = order.slice(index * batchSize, (index + 1) * batchSize).map((i) => samples[i]);
      const batch = decodeBatch(members, size, options).then((b) => ({
        ...b,
        index,
        resume: { rngState, nextBatch: index + 1 },
      }));
      batch.catch(() => undefined);
      pending.push(batch);
    }
  };
  for (;;) {
    launch();
    const batch = pending.shift();
    if (batch === undefined) return;
    yield await batch;
  }
}

/** The default decoder: the file, or slice `sample.slice` of a multi-slice file (masks use the same slice). */
function readSampleFile(path: string, sample: Sample): Promise<Image> {
  return readImage(path, sample.slice === undefined ? {} : { slice: sample.slice });
}

async function decodeBatch(
  members: Sample[],
  size: Size,
  options: BatchOptions,
): Promise<Pick<Batch, "images" | "masks" | "samples">> {
  const read = options.read ?? readSampleFile;
  const plane = size.width * size.height;
  let images: Float32Array | undefined;
  let channels = options.channels;
  const masks = options.withMasks ? new Float32Array(members.length * plane) : null;
  const decodeOne = async (i: number) => {
    const sample = members[i];
    const original = await read(sample.path, sample);
    const image = await preprocessImage(original, { ...options, size });
    channels ??= image.channels;
    if (image.channels !== channels)
      throw new OptionError(
        `${sample.path}: ${image.channels} channels, batch has ${channels}; set channels`,
      );
    images ??= new Float32Array(members.length * channels * plane);
    images.set(image.data, i * channels * plane);
    if (masks && sample.maskPaths.length > 0) {
      const decoded = await Promise.all(sample.maskPaths.map((path) => read(path, sample)));
      decoded.forEach((mask, m) => {
        if (mask.width !== original.width || mask.height !== original.height)
          options.onWarning?.(
            `${sample.maskPaths[m]}: mask is ${mask.width}x${mask.height}, its image ${original.width}x${original.height} (resized nearest-neighbour)`,
          );
      });
      masks.set((await preprocessMasks(decoded, size, options)).data, i * plane);
    }
  };
  await mapConcurrent(members, options.concurrency ?? 8, (_, i) => decodeOne(i));
  return { images: images ?? new Float32Array(0), masks, samples: members };
}
