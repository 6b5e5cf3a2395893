/**
 * NIfTI-1/NIfTI-2 volumes (.nii, .nii.gz) read through nifti-reader-js, cut into 2-D slices.
 *
 * Only single-file, 3-D volumes (or 2-D images; trailing dimensions of size 1 are allowed) are read.
 * Voxels are scaled by scl_slope/scl_inter (when scl_slope is non-zero), then mapped to [0, 1] by a
 * per-volume percentile clip (default 0.5th and 99.5th percentiles, linear interpolation between order
 * statistics; NaN voxels are ignored and become 0). If the two percentiles coincide the volume's min/max is
 * used; a constant volume becomes all zeros.
 *
 * Slicing: no reorientation is applied. For slice axis 2 (default) image column = voxel i, row = voxel j;
 * for axis 1 column = i, row = k; for axis 0 column = j, row = k.
 */
import { createReadStream } from "node:fs";
import { createGunzip, gunzipSync } from "node:zlib";
import * as nifti from "nifti-reader-js";
import { InputFileError, OptionError } from "../errors.js";
import { looksLikeNiftiHeader } from "./detect.js";
import { createImage, type Image } from "./image.js";

export type SliceAxis = 0 | 1 | 2;

const datatypes: Record<number, { name: string; bytes: number }> = {
  2: { name: "uint8", bytes: 1 },
  4: { name: "int16", bytes: 2 },
  8: { name: "int32", bytes: 4 },
  16: { name: "float32", bytes: 4 },
  64: { name: "float64", bytes: 8 },
  256: { name: "int8", bytes: 1 },
  512: { name: "uint16", bytes: 2 },
  768: { name: "uint32", bytes: 4 },
};

function gunzip(file: string, bytes: Uint8Array): Uint8Array {
  try {
    return gunzipSync(bytes);
  } catch (error) {
    const message = (error as Error).message;
    const reason = /unexpected end|truncated/i.test(message) ? "truncated" : "corrupt";
    throw new InputFileError(file, reason, `gzip: ${message}`);
  }
}

/** The header of a (possibly gzipped) NIfTI file, reading only as much of the file as needed. */
export async function readNiftiHeaderFromFile(
  file: string,
  gzipped: boolean,
): Promise<nifti.NIFTI1 | nifti.NIFTI2> {
  const chunks: Buffer[] = [];
  let length = 0;
  const stream = createReadStream(file);
  const source = gzipped ? stream.pipe(createGunzip()) : stream;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= 540) break;
    }
  } catch (error) {
    const message = (error as Error).message;
    throw new InputFileError(file, /unexpected end/i.test(message) ? "truncated" : "corrupt", message);
  } finally {
    stream.destroy();
  }
  return parseHeader(file, new Uint8Array(Buffer.concat(chunks)));
}

function parseHeader(file: string, bytes: Uint8Array): nifti.NIFTI1 | nifti.NIFTI2 {
  if (!looksLikeNiftiHeader(bytes)) {
    if (bytes.length < 348)
      throw new InputFileError(file, "truncated", `NIfTI header of ${bytes.length} bytes`);
    throw new InputFileError(file, "wrong-format", "no single-file NIfTI header (magic n+1 or n+2)");
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  try {
    return nifti.readHeader(buffer);
  } catch (error) {
    throw new InputFileError(file, "corrupt", `NIfTI header: ${(error as Error).message}`);
  }
}

interface VolumeShape {
  size: [number, number, number];
}

function volumeShape(file: string, header: nifti.NIFTI1 | nifti.NIFTI2): VolumeShape {
  const rank = header.dims[0];
  if (rank < 1 || rank > 7) throw new InputFileError(file, "wrong-dimensions", `NIfTI dim[0] = ${rank}`);
  const dims = Array.from({ length: 7 }, (_, i) => (i < rank ? header.dims[i + 1] : 1));
  if (dims.some((d) => !Number.isInteger(d) || d < 1))
    throw new InputFileError(file, "wrong-dimensions", `NIfTI dimensions ${dims.slice(0, rank).join("x")}`);
  if (dims.slice(3).some((d) => d > 1))
    throw new InputFileError(
      file,
      "wrong-dimensions",
      `NIfTI volume ${dims.slice(0, rank).join("x")}: only 2-D and 3-D volumes are read`,
    );
  return { size: [dims[0], dims[1], dims[2]] };
}

/** Number of slices along `axis`. */
export function countNiftiSlices(file: string, header: nifti.NIFTI1 | nifti.NIFTI2, axis: SliceAxis): number {
  return volumeShape(file, header).size[axis];
}

export async function countNiftiSlicesInFile(
  file: string,
  gzipped: boolean,
  axis: SliceAxis,
): Promise<number> {
  return countNiftiSlices(file, await readNiftiHeaderFromFile(file, gzipped), axis);
}

function readVoxels(
  file: string,
  header: nifti.NIFTI1 | nifti.NIFTI2,
  bytes: Uint8Array,
  count: number,
): Float64Array {
  const datatype = datatypes[header.datatypeCode];
  if (datatype === undefined)
    throw new InputFileError(file, "unsupported", `NIfTI datatype ${header.datatypeCode}`);
  if (header.numBitsPerVoxel !== datatype.bytes * 8)
    throw new InputFileError(file, "corrupt", `NIfTI bitpix ${header.numBitsPerVoxel} for ${datatype.name}`);
  const offset = Math.max(0, Math.floor(header.vox_offset));
  const needed = offset + count * datatype.bytes;
  if (bytes.length < needed)
    throw new InputFileError(
      file,
      "truncated",
      `NIfTI voxel data needs ${needed} bytes, file has ${bytes.length}`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * datatype.bytes);
  const little = header.littleEndian;
  const read: (at: number) => number = {
    uint8: (at: number) => view.getUint8(at),
    int8: (at: number) => view.getInt8(at),
    int16: (at: number) => view.getInt16(at, little),
    uint16: (at: number) => view.getUint16(at, little),
    int32: (at: number) => view.getInt32(at, little),
    uint32: (at: number) => view.getUint32(at, little),
    float32: (at: number) => view.getFloat32(at, little),
    float64: (at: number) => view.getFloat64(at, little),
  }[datatype.name]!;
  const slope = header.scl_slope;
  const scaled = Number.isFinite(slope) && slope !== 0;
  const intercept = scaled && Number.isFinite(header.scl_inter) ? header.scl_inter : 0;
  const voxels = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const value = read(i * datatype.bytes);
    voxels[i] = scaled ? value * slope + intercept : value;
  }
  return voxels;
}

/** The p-th percentile (0..100) of sorted values, linear interpolation between order statistics. */
function percentile(sorted: Float64Array, p: number): number {
  const position = (p / 100) * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

function clipRange(voxels: Float64Array, percentiles: [number, number]): [number, number] {
  const [low, high] = percentiles;
  if (!(low >= 0 && high <= 100 && low < high))
    throw new OptionError(`clipPercentiles [${low}, ${high}] must satisfy 0 <= low < high <= 100`);
  const finite = voxels.filter((v) => Number.isFinite(v)).sort();
  if (finite.length === 0) return [0, 0];
  const lower = percentile(finite, low);
  const upper = percentile(finite, high);
  return upper > lower ? [lower, upper] : [finite[0], finite[finite.length - 1]];
}

export interface NiftiReadOptions {
  axis: SliceAxis;
  clipPercentiles: [number, number];
}

/** Decode a .nii or .nii.gz file into slices along `options.axis`. */
export function decodeNifti(
  file: string,
  bytes: Uint8Array,
  gzipped: boolean,
  options: NiftiReadOptions,
): Image[] {
  const data = gzipped ? gunzip(file, bytes) : bytes;
  const header = parseHeader(file, data);
  const { size } = volumeShape(file, header);
  const [nx, ny, nz] = size;
  const voxels = readVoxels(file, header, data, nx * ny * nz);
  const [lower, upper] = clipRange(voxels, options.clipPercentiles);
  const range = upper - lower;
  const unit = (v: number) =>
    range > 0 && Number.isFinite(v) ? Math.min(1, Math.max(0, (v - lower) / range)) : 0;
  const axis = options.axis;
  const [width, height] = axis === 2 ? [nx, ny] : axis === 1 ? [nx, nz] : [ny, nz];
  const voxelIndex = (slice: number, column: number, row: number) =>
    axis === 2
      ? column + nx * (row + ny * slice)
      : axis === 1
        ? column + nx * (slice + ny * row)
        : slice + nx * (column + ny * row);
  return Array.from({ length: size[axis] }, (_, slice) => {
    const image = createImage(width, height, 1);
    for (let row = 0; row < height; row++) {
      for (let column = 0; column < width; column++)
        image.data[row * width + column] = unit(voxels[voxelIndex(slice, column, row)]);
    }
    return image;
  });
}
