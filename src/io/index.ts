/**
 * The single entry point between files on disk and decoded images.
 *
 * Formats: PNG, JPEG, TIFF, WebP (sharp), BMP (hand-written decoder), DICOM (dicom-parser plus codecs) and
 * NIfTI (.nii, .nii.gz). The format is detected from magic bytes first, then from the extension. Every
 * failure is an `InputFileError` naming the file and the reason (missing, empty, truncated, not-an-image,
 * wrong-format, unsupported, wrong-dimensions, corrupt); invalid options are `OptionError`s.
 */
import { InputFileError, OptionError } from "../errors.js";
import { decodeBmp } from "./bmp.js";
import { detectFormat, type ImageFormat } from "./detect.js";
import { countDicomFrames, decodeDicom } from "./dicom.js";
import { readInputFile, readInputFileHead } from "./file.js";
import type { Image } from "./image.js";
import { countNiftiSlicesInFile, decodeNifti, type SliceAxis } from "./nifti.js";
import { decodeRaster } from "./raster.js";

export { isSupportedImagePath } from "./detect.js";
export { createImage, type Image } from "./image.js";
export { encodePng, type PngOptions, writePng } from "./png.js";

export interface ReadOptions {
  /** Slice (frame) index for `readImage` on multi-slice files; default: the middle slice, floor(n / 2). */
  slice?: number;
  /** NIfTI slice axis: 0, 1 or 2 (default 2, the last axis, usually axial). */
  axis?: 0 | 1 | 2;
  /** NIfTI intensity clip percentiles mapped to 0 and 1 (default [0.5, 99.5]). */
  clipPercentiles?: [number, number];
}

const defaultClipPercentiles: [number, number] = [0.5, 99.5];

function validatedAxis(options: ReadOptions): SliceAxis {
  const axis = options.axis ?? 2;
  if (axis !== 0 && axis !== 1 && axis !== 2)
    throw new OptionError(`axis must be 0, 1 or 2, got ${String(axis)}`);
  return axis;
}

function requireFormat(file: string, bytes: Uint8Array): ImageFormat {
  const format = detectFormat(file, bytes);
  if (format === undefined)
    throw new InputFileError(
      file,
      "not-an-image",
      "neither the content nor the extension is a supported format",
    );
  return format;
}

function checkDimensions(file: string, image: Image): Image {
  if (image.width < 1 || image.height < 1)
    throw new InputFileError(file, "wrong-dimensions", `${image.width}x${image.height}`);
  return image;
}

/** All 2-D slices of the file: one for plain raster images, one per frame (DICOM) or slice (NIfTI). */
export async function readSlices(path: string, options: ReadOptions = {}): Promise<Image[]> {
  return decodeSlices(path, await readInputFile(path), options);
}

/** `readSlices` on the bytes of a file; `path` names it in errors and helps detect the format. */
export async function decodeSlices(
  path: string,
  bytes: Uint8Array,
  options: ReadOptions = {},
): Promise<Image[]> {
  const axis = validatedAxis(options);
  if (bytes.length === 0) throw new InputFileError(path, "empty", "0 bytes");
  const format = requireFormat(path, bytes);
  let slices: Image[];
  switch (format) {
    case "bmp":
      slices = [decodeBmp(path, bytes)];
      break;
    case "dicom":
      slices = await decodeDicom(path, bytes);
      break;
    case "nifti":
    case "nifti-gz":
      slices = decodeNifti(path, bytes, format === "nifti-gz", {
        axis,
        clipPercentiles: options.clipPercentiles ?? defaultClipPercentiles,
      });
      break;
    default:
      slices = [await decodeRaster(path, bytes)];
  }
  return slices.map((image) => checkDimensions(path, image));
}

/**
 * One 2-D image. For a multi-slice file (multi-frame DICOM, NIfTI volume) this is slice `options.slice`,
 * by default the middle slice floor(n / 2); a slice index out of range is a "wrong-dimensions" error.
 */
export async function readImage(path: string, options: ReadOptions = {}): Promise<Image> {
  return pickSlice(path, await readSlices(path, options), options);
}

/** `readImage` on the bytes of a file; `path` names it in errors (e.g. "<buffer>"). */
export async function decodeImage(
  path: string,
  bytes: Uint8Array,
  options: ReadOptions = {},
): Promise<Image> {
  return pickSlice(path, await decodeSlices(path, bytes, options), options);
}

function pickSlice(path: string, slices: Image[], options: ReadOptions): Image {
  if (options.slice !== undefined && (!Number.isInteger(options.slice) || options.slice < 0))
    throw new OptionError(`slice must be a non-negative integer, got ${options.slice}`);
  const index = options.slice ?? Math.floor(slices.length / 2);
  if (index >= slices.length)
    throw new InputFileError(
      path,
      "wrong-dimensions",
      `slice ${index} requested, file has ${slices.length} (0-${slices.length - 1})`,
    );
  return slices[index];
}

/**
 * Number of 2-D slices `readSlices` would return with default options (NIfTI along the last axis). Reads
 * only the header for NIfTI and parses DICOM only up to the pixel data; raster files count as 1 once their
 * format is recognised from the first bytes.
 */
export async function countSlices(path: string): Promise<number> {
  const head = await readInputFileHead(path, 540);
  const format = requireFormat(path, head);
  if (format === "nifti" || format === "nifti-gz")
    return countNiftiSlicesInFile(path, format === "nifti-gz", 2);
  if (format === "dicom") return countDicomFrames(path, await readInputFile(path));
  return 1;
}
