/**
 * Preprocessing of decoded images and masks to a model's input size and channel count.
 *
 * Resizing runs in sharp (libvips) on 16-bit data: the float image is quantised to 16 bits (steps of
 * 1/65535, far below 8-bit input precision), resized, and scaled back to [0, 1]. (sharp 0.35 returns
 * zeros for raw float input, hence 16-bit; libvips' fixed-point kernels add errors below 1e-3, a quarter of an 8-bit step.) Kernels:
 * - `cubic` (default): Catmull-Rom bicubic; when downscaling the kernel is widened by the scale factor,
 *   i.e. antialiased like Pillow's `resize(..., BICUBIC)`; results are clipped to [0, 1].
 * - `linear`: triangle filter, antialiased in the same way (Pillow's BILINEAR).
 * - `nearest`: used for masks.
 * Border pixels are extended (Pillow instead renormalises the kernel at the border, so values within
 * about one source pixel of the edge can differ slightly).
 * `centreCrop` first crops the largest centred square. Masks: every mask of a sample is binarised
 * (> 0 anomalous, any channel), unioned, resized nearest-neighbour and binarised again, so they stay 0/1.
 * Channels change only when asked: 1 -> 3 replicates; 3 -> 1 uses luminance 0.299 R + 0.587 G + 0.114 B
 * (default) or the first channel; an alpha channel (2 or 4 channels) is dropped first.
 */
import sharp from "sharp";
import { OptionError } from "../errors.js";
import { createImage, type Image } from "../io/image.js";

export type ResizeKernel = "cubic" | "linear" | "nearest";
export type GreyMode = "luminance" | "first";

export interface Size {
  width: number;
  height: number;
}

export interface ResizeOptions {
  kernel?: ResizeKernel;
  centreCrop?: boolean;
}

export interface PreprocessOptions extends ResizeOptions {
  /** Output size: a number for a square, or width and height. */
  size: number | Size;
  /** Output channels (1 or 3); unchanged when omitted. */
  channels?: number;
  greyMode?: GreyMode;
}

const U16 = 65535;

export function toSize(size: number | Size): Size {
  const s = typeof size === "number" ? { width: size, height: size } : size;
  if (!(Number.isInteger(s.width) && Number.isInteger(s.height) && s.width > 0 && s.height > 0))
    throw new OptionError(`size must be positive integers, got ${s.width}x${s.height}`);
  return s;
}

/** The largest centred square of a width x height image. */
function centreSquare(width: number, height: number) {
  const side = Math.min(width, height);
  return {
    left: Math.floor((width - side) / 2),
    top: Math.floor((height - side) / 2),
    width: side,
    height: side,
  };
}

/** Resize (optionally after a centre crop) with sharp on 16-bit data; 1 or 3 channels, kept as they are. */
export async function resizeImage(
  image: Image,
  target: number | Size,
  options: ResizeOptions = {},
): Promise<Image> {
  const { width, height } = toSize(target);
  const crop = options.centreCrop && image.width !== image.height;
  if (!crop && image.width === width && image.height === height) return image;
  const { channels } = image;
  if (channels !== 1 && channels !== 3)
    throw new OptionError(`resizeImage: 1 or 3 channels, got ${channels}`);
  const plane = image.width * image.height;
  const packed = new Uint16Array(plane * channels);
  for (let c = 0; c < channels; c++)
    for (let i = 0; i < plane; i++) {
      const v = image.data[c * plane + i];
      packed[i * channels + c] = Math.round(Math.min(1, Math.max(0, Number.isNaN(v) ? 0 : v)) * U16);
    }
  let pipeline = sharp(packed, { raw: { width: image.width, height: image.height, channels } });
  if (crop) pipeline = pipeline.extract(centreSquare(image.width, image.height));
  const colourspace = channels === 1 ? "grey16" : "rgb16";
  const out = await pipeline
    .resize(width, height, { kernel: options.kernel ?? "cubic", fit: "fill" })
    .toColourspace(colourspace)
    .raw({ depth: "ushort" })
    .toBuffer({ resolveWithObject: true });
  if (out.info.channels !== channels)
    throw new Error(`resizeImage: sharp returned ${out.info.channels} channels for ${channels}`);
  const pixels = new Uint16Array(out.data.buffer, out.data.byteOffset, out.data.byteLength / 2);
  const result = createImage(width, height, channels);
  const outPlane = width * height;
  for (let c = 0; c < channels; c++)
    for (let i = 0; i < outPlane; i++) result.data[c * outPlane + i] = pixels[i * channels + c] / U16;
  return result;
}

/** Channel conversion (see module comment); returns the input when it already has `channels`. */
export function convertChannels(image: Image, channels: number, greyMode: GreyMode = "luminance"): Image {
  if (channels !== 1 && channels !== 3) throw new OptionError(`channels must be 1 or 3, got ${channels}`);
  const source = dropAlpha(image);
  if (source.channels === channels) return source;
  const plane = source.width * source.height;
  const out = createImage(source.width, source.height, channels);
  if (channels === 3) {
    for (let c = 0; c < 3; c++) out.data.set(source.data.subarray(0, plane), c * plane);
  } else if (greyMode === "first") {
    out.data.set(source.data.subarray(0, plane));
  } else {
    for (let i = 0; i < plane; i++)
      out.data[i] =
        0.299 * source.data[i] + 0.587 * source.data[plane + i] + 0.114 * source.data[2 * plane + i];
  }
  return out;
}

function dropAlpha(image: Image): Image {
  if (image.channels !== 2 && image.channels !== 4) return image;
  const channels = image.channels - 1;
  const plane = image.width * image.height;
  return { ...image, channels, data: image.data.slice(0, plane * channels) };
}

/** Channel conversion (when asked) and resize to the model's input. */
export async function preprocessImage(image: Image, options: PreprocessOptions): Promise<Image> {
  const resizeOptions = { kernel: options.kernel, centreCrop: options.centreCrop };
  const wanted = options.channels;
  if (wanted === undefined) return resizeImage(dropAlpha(image), options.size, resizeOptions);
  const before = dropAlpha(image).channels;
  if (wanted < before)
    return resizeImage(convertChannels(image, wanted, options.greyMode), options.size, resizeOptions);
  return convertChannels(await resizeImage(dropAlpha(image), options.size, resizeOptions), wanted);
}

/** Union of binarised masks, resized nearest-neighbour to `size`; values exactly 0 or 1, one channel. */
export async function preprocessMasks(
  masks: readonly Image[],
  size: number | Size,
  options: { centreCrop?: boolean } = {},
): Promise<Image> {
  const target = toSize(size);
  if (masks.length === 0) return createImage(target.width, target.height, 1);
  const { width, height } = masks[0];
  const union = createImage(width, height, 1);
  const plane = width * height;
  for (const mask of masks) {
    if (mask.width !== width || mask.height !== height)
      throw new OptionError(`mask sizes differ: ${mask.width}x${mask.height} vs ${width}x${height}`);
    for (let c = 0; c < mask.channels; c++)
      for (let i = 0; i < plane; i++) if (mask.data[c * plane + i] > 0) union.data[i] = 1;
  }
  const resized = await resizeImage(union, target, { kernel: "nearest", centreCrop: options.centreCrop });
  for (let i = 0; i < resized.data.length; i++) resized.data[i] = resized.data[i] > 0 ? 1 : 0;
  return resized;
}
