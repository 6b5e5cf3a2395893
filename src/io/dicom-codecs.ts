/**
 * Decoders for compressed DICOM pixel data, one per transfer syntax family:
 * JPEG baseline/extended 8-bit (libjpeg-turbo wasm), JPEG lossless (jpeg-lossless-decoder-js), JPEG-LS
 * (CharLS wasm), JPEG 2000 (OpenJPEG wasm) and RLE lossless (hand-written below: PackBits-style segments,
 * too small a format to justify a dependency). The wasm modules are loaded lazily from the packages' own
 * `dist` folders (no download at run time) and cached.
 *
 * Every decoder returns little-endian samples (1 or 2 bytes each) plus their layout; the caller turns them
 * into stored values. Codec failures become `InputFileError`s.
 */
import { createRequire } from "node:module";
import { InputFileError } from "../errors.js";

const require = createRequire(import.meta.url);

export const transferSyntaxNames: Readonly<Record<string, string>> = {
  "1.2.840.10008.1.2": "Implicit VR Little Endian",
  "1.2.840.10008.1.2.1": "Explicit VR Little Endian",
  "1.2.840.10008.1.2.1.99": "Deflated Explicit VR Little Endian",
  "1.2.840.10008.1.2.2": "Explicit VR Big Endian",
  "1.2.840.10008.1.2.4.50": "JPEG Baseline (Process 1)",
  "1.2.840.10008.1.2.4.51": "JPEG Extended (Process 2 & 4)",
  "1.2.840.10008.1.2.4.57": "JPEG Lossless, Non-Hierarchical (Process 14)",
  "1.2.840.10008.1.2.4.70": "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 SV1)",
  "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
  "1.2.840.10008.1.2.4.81": "JPEG-LS Near-Lossless",
  "1.2.840.10008.1.2.4.90": "JPEG 2000 Lossless Only",
  "1.2.840.10008.1.2.4.91": "JPEG 2000",
  "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile / Main Level",
  "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264 High Profile / Level 4.1",
  "1.2.840.10008.1.2.4.201": "High-Throughput JPEG 2000 Lossless Only",
  "1.2.840.10008.1.2.4.202": "High-Throughput JPEG 2000 with RPCL Options Lossless Only",
  "1.2.840.10008.1.2.4.203": "High-Throughput JPEG 2000",
  "1.2.840.10008.1.2.5": "RLE Lossless",
};

export function describeTransferSyntax(uid: string): string {
  return `transfer syntax ${uid} (${transferSyntaxNames[uid] ?? "unknown"})`;
}

/** Transfer syntaxes whose pixel data is encapsulated and decoded here. */
export type CompressedFamily = "jpeg-baseline" | "jpeg-lossless" | "jpeg-ls" | "jpeg-2000" | "rle";

export const compressedFamilies: Readonly<Record<string, CompressedFamily>> = {
  "1.2.840.10008.1.2.4.50": "jpeg-baseline",
  "1.2.840.10008.1.2.4.51": "jpeg-baseline",
  "1.2.840.10008.1.2.4.57": "jpeg-lossless",
  "1.2.840.10008.1.2.4.70": "jpeg-lossless",
  "1.2.840.10008.1.2.4.80": "jpeg-ls",
  "1.2.840.10008.1.2.4.81": "jpeg-ls",
  "1.2.840.10008.1.2.4.90": "jpeg-2000",
  "1.2.840.10008.1.2.4.91": "jpeg-2000",
  "1.2.840.10008.1.2.5": "rle",
};

/** What the caller expects one frame to contain. */
export interface FrameGeometry {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
}

/** Samples of one frame, `bytesPerSample` each, little-endian unless `bigEndian`, interleaved unless `planar`. */
export interface DecodedFrame {
  bytes: Uint8Array;
  bytesPerSample: 1 | 2 | 4;
  planar: boolean;
  bigEndian?: boolean;
}

interface WasmFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
}

interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): WasmFrameInfo;
  delete(): void;
}

type WasmModule = Record<string, new () => WasmDecoder>;

const wasmModules = new Map<string, Promise<WasmModule>>();

function loadWasmModule(packageName: string): Promise<WasmModule> {
  let module = wasmModules.get(packageName);
  if (module === undefined) {
    const factory = require(`${packageName}/decodewasmjs`) as () => Promise<WasmModule>;
    module = factory();
    wasmModules.set(packageName, module);
  }
  return module;
}

async function decodeWithWasm(
  packageName: string,
  decoderClass: string,
  encoded: Uint8Array,
): Promise<{ bytes: Uint8Array; info: WasmFrameInfo }> {
  const module = await loadWasmModule(packageName);
  const decoder = new module[decoderClass]();
  try {
    decoder.getEncodedBuffer(encoded.length).set(encoded);
    decoder.decode();
    return { bytes: decoder.getDecodedBuffer().slice(), info: decoder.getFrameInfo() };
  } finally {
    decoder.delete();
  }
}

interface LosslessJpegDecoder {
  decompress(buffer: ArrayBuffer, offset: number, length: number): ArrayBuffer;
}

function decodeLosslessJpeg(encoded: Uint8Array): Uint8Array {
  const { Decoder } = require("jpeg-lossless-decoder-js") as { Decoder: new () => LosslessJpegDecoder };
  const copy = encoded.slice();
  return new Uint8Array(new Decoder().decompress(copy.buffer, 0, copy.byteLength));
}

/**
 * RLE Lossless (PS3.5 annex G): a 64-byte header with the segment count and offsets, then one PackBits
 * segment per byte plane (most significant byte first, for each sample in turn). Output is planar.
 */
export function decodeRle(file: string, encoded: Uint8Array, geometry: FrameGeometry): DecodedFrame {
  const pixels = geometry.rows * geometry.columns;
  const bytesPerSample = geometry.bitsAllocated / 8;
  if (bytesPerSample !== 1 && bytesPerSample !== 2)
    throw new InputFileError(file, "unsupported", `RLE with ${geometry.bitsAllocated} bits allocated`);
  if (encoded.length < 64) throw new InputFileError(file, "truncated", "RLE frame header");
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const segmentCount = view.getUint32(0, true);
  const expectedSegments = geometry.samplesPerPixel * bytesPerSample;
  if (segmentCount !== expectedSegments)
    throw new InputFileError(
      file,
      "corrupt",
      `RLE frame has ${segmentCount} segments, expected ${expectedSegments}`,
    );
  const output = new Uint8Array(pixels * geometry.samplesPerPixel * bytesPerSample);
  for (let segment = 0; segment < segmentCount; segment++) {
    const start = view.getUint32(4 + 4 * segment, true);
    const end = segment + 1 < segmentCount ? view.getUint32(8 + 4 * segment, true) : encoded.length;
    if (start < 64 || end > encoded.length || start > end)
      throw new InputFileError(file, "corrupt", `RLE segment ${segment} offsets ${start}..${end}`);
    const sample = Math.floor(segment / bytesPerSample);
    const byteInSample = bytesPerSample - 1 - (segment % bytesPerSample);
    const planeStart = sample * pixels;
    let pixel = 0;
    let at = start;
    const put = (value: number) => {
      if (pixel < pixels) output[(planeStart + pixel) * bytesPerSample + byteInSample] = value;
      pixel++;
    };
    while (at < end && pixel < pixels) {
      const header = (encoded[at++] << 24) >> 24;
      if (header >= 0) {
        if (at + header + 1 > end) throw new InputFileError(file, "truncated", `RLE segment ${segment}`);
        for (let i = 0; i <= header; i++) put(encoded[at++]);
      } else if (header !== -128) {
        if (at >= end) throw new InputFileError(file, "truncated", `RLE segment ${segment}`);
        const value = encoded[at++];
        for (let i = 0; i < 1 - header; i++) put(value);
      }
    }
    if (pixel < pixels)
      throw new InputFileError(file, "truncated", `RLE segment ${segment} has ${pixel} of ${pixels} bytes`);
  }
  return { bytes: output, bytesPerSample, planar: true };
}

function checkedFrame(
  file: string,
  bytes: Uint8Array,
  geometry: FrameGeometry,
  info: WasmFrameInfo | undefined,
  planar: boolean,
): DecodedFrame {
  const samples = geometry.rows * geometry.columns * geometry.samplesPerPixel;
  if (info !== undefined) {
    const { width, height, componentCount } = info;
    if (width !== geometry.columns || height !== geometry.rows || componentCount !== geometry.samplesPerPixel)
      throw new InputFileError(
        file,
        "wrong-dimensions",
        `compressed frame is ${width}x${height}x${componentCount}, header says ${geometry.columns}x${geometry.rows}x${geometry.samplesPerPixel}`,
      );
  }
  const bytesPerSample = bytes.length / samples;
  if (bytesPerSample !== 1 && bytesPerSample !== 2)
    throw new InputFileError(
      file,
      "corrupt",
      `decoded frame has ${bytes.length} bytes for ${samples} samples`,
    );
  return { bytes, bytesPerSample, planar };
}

/** Decode one encapsulated frame of the given transfer syntax. */
export async function decodeCompressedFrame(
  file: string,
  transferSyntax: string,
  encoded: Uint8Array,
  geometry: FrameGeometry,
): Promise<DecodedFrame> {
  const family = compressedFamilies[transferSyntax];
  if (family === "rle") return decodeRle(file, encoded, geometry);
  if (family === "jpeg-baseline" && geometry.bitsAllocated > 8)
    throw new InputFileError(
      file,
      "unsupported",
      `${describeTransferSyntax(transferSyntax)} with ${geometry.bitsAllocated}-bit samples (only 8-bit JPEG is decoded)`,
    );
  try {
    switch (family) {
      case "jpeg-baseline": {
        const { bytes, info } = await decodeWithWasm(
          "@cornerstonejs/codec-libjpeg-turbo-8bit",
          "JPEGDecoder",
          encoded,
        );
        return checkedFrame(file, bytes, geometry, info, false);
      }
      case "jpeg-ls": {
        const { bytes, info } = await decodeWithWasm("@cornerstonejs/codec-charls", "JpegLSDecoder", encoded);
        return checkedFrame(file, bytes, geometry, info, false);
      }
      case "jpeg-2000": {
        const { bytes, info } = await decodeWithWasm("@cornerstonejs/codec-openjpeg", "J2KDecoder", encoded);
        return checkedFrame(file, bytes, geometry, info, false);
      }
      case "jpeg-lossless":
        return checkedFrame(file, decodeLosslessJpeg(encoded), geometry, undefined, false);
      default:
        throw new InputFileError(file, "unsupported", describeTransferSyntax(transferSyntax));
    }
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new InputFileError(
      file,
      "corrupt",
      `${describeTransferSyntax(transferSyntax)}: ${detail.split("\n")[0]}`,
    );
  }
}
