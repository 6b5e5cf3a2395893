/**
 * DICOM reader on top of dicom-parser: one `Image` per frame.
 *
 * Grey (MONOCHROME1/2) frames: stored values (8/16/32-bit, unsigned or signed, masked to BitsStored) go
 * through the modality LUT (RescaleSlope/RescaleIntercept), then through the VOI window
 * (WindowCenter/WindowWidth, first value if multi-valued, linear function of PS3.3 C.11.2.1.2.1) when
 * present and of width >= 1, otherwise through the full range of the rescaled data of the whole file (all
 * frames share one mapping, so slices stay comparable). MONOCHROME1 is inverted so that bright always means
 * high signal. Colour frames (RGB, YBR_FULL and the codec-converted YBR variants) are divided by
 * 2^BitsStored - 1; native and RLE YBR_FULL are converted to RGB; PlanarConfiguration 0 and 1 are read.
 *
 * Transfer syntaxes: implicit/explicit little endian, deflated explicit little endian, explicit big
 * endian, and the compressed ones of `dicom-codecs.ts`. Any other syntax (or an unsupported bit depth or
 * photometric interpretation) throws `InputFileError` "unsupported" naming it; nothing is guessed.
 */
import { createRequire } from "node:module";
import { inflateRawSync } from "node:zlib";
import type * as DicomParser from "dicom-parser";
import { InputFileError } from "../errors.js";
import {
  compressedFamilies,
  type DecodedFrame,
  decodeCompressedFrame,
  describeTransferSyntax,
  type FrameGeometry,
} from "./dicom-codecs.js";
import { createImage, type Image } from "./image.js";

const dicomParser = createRequire(import.meta.url)("dicom-parser") as typeof DicomParser;

const IMPLICIT_LITTLE_ENDIAN = "1.2.840.10008.1.2";
const EXPLICIT_BIG_ENDIAN = "1.2.840.10008.1.2.2";
const nativeTransferSyntaxes = new Set([
  IMPLICIT_LITTLE_ENDIAN,
  "1.2.840.10008.1.2.1",
  "1.2.840.10008.1.2.1.99",
  EXPLICIT_BIG_ENDIAN,
]);

const tags = {
  transferSyntax: "x00020010",
  samplesPerPixel: "x00280002",
  photometric: "x00280004",
  planarConfiguration: "x00280006",
  numberOfFrames: "x00280008",
  rows: "x00280010",
  columns: "x00280011",
  bitsAllocated: "x00280100",
  bitsStored: "x00280101",
  pixelRepresentation: "x00280103",
  windowCenter: "x00281050",
  windowWidth: "x00281051",
  rescaleIntercept: "x00281052",
  rescaleSlope: "x00281053",
  pixelData: "x7fe00010",
} as const;

function inflateDeflatedDataSet(bytes: DicomParser.ByteArray, position: number): Uint8Array {
  const inflated = inflateRawSync(bytes.subarray(position));
  const full = new Uint8Array(position + inflated.length);
  full.set(bytes.subarray(0, position));
  full.set(inflated, position);
  return full;
}

function hasPart10Preamble(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && String.fromCharCode(...bytes.subarray(128, 132)) === "DICM";
}

function parseErrorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && error !== null && "exception" in error)
    return parseErrorMessage((error as { exception: unknown }).exception);
  return String(error);
}

/** Parse the data set (up to the pixel data element when `headerOnly`), translating parser errors. */
function parseDataSet(file: string, bytes: Uint8Array, headerOnly: boolean): DicomParser.DataSet {
  const options: DicomParser.ParseDicomOptions = { inflater: inflateDeflatedDataSet };
  if (headerOnly) options.untilTag = tags.pixelData;
  if (!hasPart10Preamble(bytes)) options.TransferSyntaxUID = IMPLICIT_LITTLE_ENDIAN;
  try {
    return dicomParser.parseDicom(bytes, options);
  } catch (error) {
    const message = parseErrorMessage(error);
    if (/DICM prefix|not a valid DICOM/i.test(message))
      throw new InputFileError(file, "wrong-format", message);
    if (
      /overrun|overread|end of buffer|eof|beyond|past the end|insufficient|unexpected end|incorrect header check/i.test(
        message,
      )
    )
      throw new InputFileError(file, "truncated", message);
    throw new InputFileError(file, "corrupt", message);
  }
}

interface PixelModule extends FrameGeometry {
  file: string;
  transferSyntax: string;
  frames: number;
  bitsStored: number;
  signed: boolean;
  photometric: string;
  planarConfiguration: number;
}

function readPixelModule(file: string, dataSet: DicomParser.DataSet): PixelModule {
  const transferSyntax = (dataSet.string(tags.transferSyntax) ?? IMPLICIT_LITTLE_ENDIAN).trim();
  if (!nativeTransferSyntaxes.has(transferSyntax) && compressedFamilies[transferSyntax] === undefined)
    throw new InputFileError(file, "unsupported", describeTransferSyntax(transferSyntax));
  const rows = dataSet.uint16(tags.rows) ?? 0;
  const columns = dataSet.uint16(tags.columns) ?? 0;
  if (dataSet.elements[tags.pixelData] === undefined)
    throw new InputFileError(file, "not-an-image", "DICOM file without pixel data");
  if (rows === 0 || columns === 0)
    throw new InputFileError(file, "wrong-dimensions", `DICOM Rows ${rows}, Columns ${columns}`);
  const frames = dataSet.intString(tags.numberOfFrames) ?? 1;
  if (!Number.isInteger(frames) || frames < 1)
    throw new InputFileError(file, "wrong-dimensions", `DICOM NumberOfFrames ${frames}`);
  const samplesPerPixel = dataSet.uint16(tags.samplesPerPixel) ?? 1;
  const photometric = (dataSet.string(tags.photometric) ?? "MONOCHROME2").trim().toUpperCase();
  const grey = photometric === "MONOCHROME1" || photometric === "MONOCHROME2";
  const colour = ["RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT"].includes(photometric);
  if (!((grey && samplesPerPixel === 1) || (colour && samplesPerPixel === 3)))
    throw new InputFileError(
      file,
      "unsupported",
      `photometric interpretation ${photometric} with ${samplesPerPixel} samples per pixel`,
    );
  if (photometric === "YBR_FULL_422" && compressedFamilies[transferSyntax] !== "jpeg-baseline")
    throw new InputFileError(file, "unsupported", "subsampled YBR_FULL_422 outside JPEG");
  const bitsAllocated = dataSet.uint16(tags.bitsAllocated) ?? 0;
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32)
    throw new InputFileError(file, "unsupported", `DICOM BitsAllocated ${bitsAllocated}`);
  const bitsStored = dataSet.uint16(tags.bitsStored) ?? bitsAllocated;
  if (bitsStored < 1 || bitsStored > bitsAllocated)
    throw new InputFileError(file, "unsupported", `DICOM BitsStored ${bitsStored} of ${bitsAllocated}`);
  return {
    file,
    transferSyntax,
    rows,
    columns,
    frames,
    samplesPerPixel,
    photometric,
    bitsAllocated,
    bitsStored,
    signed: dataSet.uint16(tags.pixelRepresentation) === 1,
    planarConfiguration: dataSet.uint16(tags.planarConfiguration) ?? 0,
  };
}

/** Number of frames, from the header only. */
export function countDicomFrames(file: string, bytes: Uint8Array): number {
  return readPixelModule(file, parseDataSet(file, bytes, true)).frames;
}

function nativeFrames(dataSet: DicomParser.DataSet, pixels: PixelModule): DecodedFrame[] {
  const element = dataSet.elements[tags.pixelData];
  const bytesPerSample = (pixels.bitsAllocated / 8) as 1 | 2 | 4;
  const frameBytes = pixels.rows * pixels.columns * pixels.samplesPerPixel * bytesPerSample;
  const needed = frameBytes * pixels.frames;
  const available = Math.min(element.length, dataSet.byteArray.length - element.dataOffset);
  if (available < needed)
    throw new InputFileError(
      pixels.file,
      "truncated",
      `pixel data has ${Math.max(0, available)} bytes, ${pixels.rows}x${pixels.columns}x${pixels.samplesPerPixel}x${pixels.frames} frames of ${bytesPerSample}-byte samples need ${needed}`,
    );
  const frames: DecodedFrame[] = [];
  for (let frame = 0; frame < pixels.frames; frame++) {
    const start = element.dataOffset + frame * frameBytes;
    frames.push({
      bytes: dataSet.byteArray.subarray(start, start + frameBytes),
      bytesPerSample,
      planar: pixels.samplesPerPixel > 1 && pixels.planarConfiguration === 1,
      bigEndian: pixels.transferSyntax === EXPLICIT_BIG_ENDIAN,
    });
  }
  return frames;
}

function encapsulatedFrame(dataSet: DicomParser.DataSet, pixels: PixelModule, frame: number): Uint8Array {
  const element = dataSet.elements[tags.pixelData];
  const fragments = element.fragments ?? [];
  const offsetTable = element.basicOffsetTable ?? [];
  if (fragments.length === 0) throw new InputFileError(pixels.file, "truncated", "no pixel data fragments");
  for (const fragment of fragments) {
    if (fragment.position + fragment.length > dataSet.byteArray.length)
      throw new InputFileError(pixels.file, "truncated", "pixel data fragment past the end of the file");
  }
  if (pixels.frames === 1)
    return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, 0, fragments.length);
  if (offsetTable.length > 0) return dicomParser.readEncapsulatedImageFrame(dataSet, element, frame);
  if (fragments.length === pixels.frames)
    return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, frame, 1);
  if (compressedFamilies[pixels.transferSyntax] !== "rle") {
    const jpegOffsets = dicomParser.createJPEGBasicOffsetTable(dataSet, element);
    if (jpegOffsets.length === pixels.frames)
      return dicomParser.readEncapsulatedImageFrame(dataSet, element, frame, jpegOffsets);
  }
  throw new InputFileError(
    pixels.file,
    "corrupt",
    `cannot split ${fragments.length} fragments into ${pixels.frames} frames without an offset table`,
  );
}

/** Stored values of one frame in planar order (channel-major), masked/sign-extended to BitsStored. */
function storedValues(frame: DecodedFrame, pixels: PixelModule): Float64Array {
  const plane = pixels.rows * pixels.columns;
  const channels = pixels.samplesPerPixel;
  const view = new DataView(frame.bytes.buffer, frame.bytes.byteOffset, frame.bytes.byteLength);
  const littleEndian = frame.bigEndian !== true;
  const sampleBits = frame.bytesPerSample * 8;
  const bits = Math.min(pixels.bitsStored, sampleBits);
  const values = new Float64Array(plane * channels);
  for (let i = 0; i < plane * channels; i++) {
    const offset = i * frame.bytesPerSample;
    let raw: number;
    if (frame.bytesPerSample === 1) raw = view.getUint8(offset);
    else if (frame.bytesPerSample === 2) raw = view.getUint16(offset, littleEndian);
    else raw = view.getUint32(offset, littleEndian);
    let value: number;
    if (bits >= 32) value = pixels.signed ? raw | 0 : raw;
    else {
      const unsigned = raw % 2 ** bits;
      value = pixels.signed && unsigned >= 2 ** (bits - 1) ? unsigned - 2 ** bits : unsigned;
    }
    const channel = frame.planar ? Math.floor(i / plane) : i % channels;
    const pixel = frame.planar ? i % plane : Math.floor(i / channels);
    values[channel * plane + pixel] = value;
  }
  return values;
}

interface GreyMapping {
  slope: number;
  intercept: number;
  toUnit: (rescaled: number) => number;
}

function greyMapping(dataSet: DicomParser.DataSet, frames: Float64Array[]): GreyMapping {
  const slopeValue = dataSet.floatString(tags.rescaleSlope, 0);
  const interceptValue = dataSet.floatString(tags.rescaleIntercept, 0);
  const slope = slopeValue !== undefined && Number.isFinite(slopeValue) && slopeValue !== 0 ? slopeValue : 1;
  const intercept = interceptValue !== undefined && Number.isFinite(interceptValue) ? interceptValue : 0;
  const centre = dataSet.floatString(tags.windowCenter, 0);
  const width = dataSet.floatString(tags.windowWidth, 0);
  if (
    centre !== undefined &&
    width !== undefined &&
    Number.isFinite(centre) &&
    Number.isFinite(width) &&
    width >= 1
  ) {
    const lower = centre - 0.5 - (width - 1) / 2;
    const upper = centre - 0.5 + (width - 1) / 2;
    return {
      slope,
      intercept,
      toUnit: (x) =>
        x <= lower ? 0 : x > upper ? 1 : width === 1 ? 1 : (x - (centre - 0.5)) / (width - 1) + 0.5,
    };
  }
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const values of frames) {
    for (const value of values) {
      const rescaled = value * slope + intercept;
      if (rescaled < min) min = rescaled;
      if (rescaled > max) max = rescaled;
    }
  }
  const range = max - min;
  return { slope, intercept, toUnit: (x) => (range > 0 ? (x - min) / range : 0) };
}

function ybrFullToRgb(image: Image): void {
  const plane = image.width * image.height;
  const { data } = image;
  for (let i = 0; i < plane; i++) {
    const y = data[i];
    const cb = data[plane + i] - 0.5;
    const cr = data[2 * plane + i] - 0.5;
    data[i] = Math.min(1, Math.max(0, y + 1.402 * cr));
    data[plane + i] = Math.min(1, Math.max(0, y - 0.344136 * cb - 0.714136 * cr));
    data[2 * plane + i] = Math.min(1, Math.max(0, y + 1.772 * cb));
  }
}

async function decodedFrames(dataSet: DicomParser.DataSet, pixels: PixelModule): Promise<DecodedFrame[]> {
  if (!dataSet.elements[tags.pixelData].encapsulatedPixelData) {
    if (compressedFamilies[pixels.transferSyntax] !== undefined)
      throw new InputFileError(pixels.file, "corrupt", "compressed transfer syntax but native pixel data");
    return nativeFrames(dataSet, pixels);
  }
  if (compressedFamilies[pixels.transferSyntax] === undefined)
    throw new InputFileError(pixels.file, "corrupt", "encapsulated pixel data in a native transfer syntax");
  const frames: DecodedFrame[] = [];
  for (let frame = 0; frame < pixels.frames; frame++) {
    const encoded = encapsulatedFrame(dataSet, pixels, frame);
    frames.push(await decodeCompressedFrame(pixels.file, pixels.transferSyntax, encoded, pixels));
  }
  return frames;
}

/** Decode every frame of a DICOM file into images in [0, 1]. */
export async function decodeDicom(file: string, bytes: Uint8Array): Promise<Image[]> {
  const dataSet = parseDataSet(file, bytes, false);
  const pixels = readPixelModule(file, dataSet);
  const values = (await decodedFrames(dataSet, pixels)).map((frame) => storedValues(frame, pixels));
  const { rows, columns, samplesPerPixel } = pixels;
  if (samplesPerPixel === 3) {
    const maxValue = 2 ** pixels.bitsStored - 1;
    const family = compressedFamilies[pixels.transferSyntax];
    const converted = pixels.photometric === "YBR_FULL" && (family === undefined || family === "rle");
    return values.map((frameValues) => {
      const image = createImage(columns, rows, 3);
      for (let i = 0; i < frameValues.length; i++)
        image.data[i] = Math.min(1, Math.max(0, frameValues[i] / maxValue));
      if (converted) ybrFullToRgb(image);
      return image;
    });
  }
  const mapping = greyMapping(dataSet, values);
  const invert = pixels.photometric === "MONOCHROME1";
  return values.map((frameValues) => {
    const image = createImage(columns, rows, 1);
    for (let i = 0; i < frameValues.length; i++) {
      const unit = mapping.toUnit(frameValues[i] * mapping.slope + mapping.intercept);
      image.data[i] = invert ? 1 - unit : unit;
    }
    return image;
  });
}
