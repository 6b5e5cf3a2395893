/** Test helpers: temp folders, a dcmjs DICOM writer, a NIfTI-1 writer, and an RLE Lossless encoder. */
import { mkdtemp, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";

const require = createRequire(import.meta.url);

interface DcmjsData {
  DicomMetaDictionary: { denaturalizeDataset(dataset: Record<string, unknown>): Record<string, unknown> };
  DicomDict: new (
    meta: Record<string, unknown>,
  ) => { dict: Record<string, unknown>; write(options?: Record<string, unknown>): ArrayBuffer };
}

const { DicomMetaDictionary, DicomDict } = (require("dcmjs") as { data: DcmjsData }).data;

export async function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "anomalyscope-io-"));
}

export async function writeBytes(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

export const EXPLICIT_LE = "1.2.840.10008.1.2.1";
export const DEFLATED_LE = "1.2.840.10008.1.2.1.99";

export interface DicomSpec {
  transferSyntax?: string;
  rows: number;
  columns: number;
  bitsAllocated: 8 | 16;
  bitsStored?: number;
  signed?: boolean;
  samplesPerPixel?: 1 | 3;
  planarConfiguration?: 0 | 1;
  photometric?: string;
  frames?: number;
  rescale?: { slope: number; intercept: number };
  window?: { centre: number | number[]; width: number | number[] };
  /** Native pixel data as raw little-endian bytes, or one encapsulated ArrayBuffer per frame. */
  pixelData: ArrayBuffer[];
}

/** A Part 10 DICOM file written by dcmjs. */
export function dicomBytes(spec: DicomSpec): Uint8Array {
  const transferSyntax = spec.transferSyntax ?? EXPLICIT_LE;
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: "1.2.840.10008.5.1.4.1.1.7",
    MediaStorageSOPInstanceUID: "1.2.826.0.1.3680043.2.1125.1",
    TransferSyntaxUID: transferSyntax,
    ImplementationClassUID: "1.2.826.0.1.3680043.2.1125.2",
  };
  const samplesPerPixel = spec.samplesPerPixel ?? 1;
  const dataset: Record<string, unknown> = {
    SOPClassUID: "1.2.840.10008.5.1.4.1.1.7",
    SOPInstanceUID: "1.2.826.0.1.3680043.2.1125.1",
    Rows: spec.rows,
    Columns: spec.columns,
    BitsAllocated: spec.bitsAllocated,
    BitsStored: spec.bitsStored ?? spec.bitsAllocated,
    HighBit: (spec.bitsStored ?? spec.bitsAllocated) - 1,
    PixelRepresentation: spec.signed ? 1 : 0,
    SamplesPerPixel: samplesPerPixel,
    PhotometricInterpretation: spec.photometric ?? (samplesPerPixel === 3 ? "RGB" : "MONOCHROME2"),
    PixelData: spec.pixelData,
    _vrMap: { PixelData: spec.bitsAllocated === 8 ? "OB" : "OW" },
  };
  if (samplesPerPixel === 3) dataset.PlanarConfiguration = spec.planarConfiguration ?? 0;
  if (spec.frames !== undefined) dataset.NumberOfFrames = String(spec.frames);
  if (spec.rescale) {
    dataset.RescaleSlope = String(spec.rescale.slope);
    dataset.RescaleIntercept = String(spec.rescale.intercept);
  }
  if (spec.window) {
    dataset.WindowCenter = spec.window.centre;
    dataset.WindowWidth = spec.window.width;
  }
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  const bytes = new Uint8Array(dict.write({ fragmentMultiframe: false }));
  if (transferSyntax !== DEFLATED_LE) return bytes;
  const view = new DataView(bytes.buffer);
  const metaEnd = 132 + 12 + view.getUint32(140, true);
  const deflated = deflateRawSync(bytes.subarray(metaEnd));
  const result = new Uint8Array(metaEnd + deflated.length);
  result.set(bytes.subarray(0, metaEnd));
  result.set(deflated, metaEnd);
  return result;
}

export function bufferOf(values: Uint8Array | Uint16Array | Int16Array | Buffer): ArrayBuffer {
  return values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength) as ArrayBuffer;
}

/** PackBits segment: replicate runs for repeated bytes, literal runs otherwise. */
function packBits(bytes: number[]): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    let run = 1;
    while (i + run < bytes.length && bytes[i + run] === bytes[i] && run < 128) run++;
    if (run >= 2) {
      out.push(257 - run, bytes[i]);
      i += run;
      continue;
    }
    const start = i;
    while (i < bytes.length && i - start < 128 && !(i + 1 < bytes.length && bytes[i + 1] === bytes[i])) i++;
    if (i === start) i++;
    out.push(i - start - 1, ...bytes.slice(start, i));
  }
  if (out.length % 2 === 1) out.push(0x80);
  return out;
}

/** RLE Lossless frame of `planes` samples (each plane = one sample of every pixel), `bytesPerSample` each. */
export function rleFrame(planes: number[][], bytesPerSample: 1 | 2): ArrayBuffer {
  const segments: number[][] = [];
  for (const plane of planes) {
    for (let byte = bytesPerSample - 1; byte >= 0; byte--)
      segments.push(packBits(plane.map((value) => (value >> (8 * byte)) & 0xff)));
  }
  const header = new DataView(new ArrayBuffer(64));
  header.setUint32(0, segments.length, true);
  let offset = 64;
  segments.forEach((segment, i) => {
    header.setUint32(4 + 4 * i, offset, true);
    offset += segment.length;
  });
  const frame = new Uint8Array(offset);
  frame.set(new Uint8Array(header.buffer));
  let at = 64;
  for (const segment of segments) {
    frame.set(segment, at);
    at += segment.length;
  }
  return frame.buffer;
}

export interface NiftiSpec {
  dims: number[];
  datatype: number;
  bitpix: number;
  voxels: ArrayBufferView;
  slope?: number;
  intercept?: number;
}

/** A single-file NIfTI-1 (.nii): 348-byte header, 4 bytes of extension flag, then voxels at offset 352. */
export function niftiBytes(spec: NiftiSpec): Uint8Array {
  const header = new DataView(new ArrayBuffer(352));
  header.setInt32(0, 348, true);
  header.setInt16(40, spec.dims.length, true);
  for (let i = 0; i < 7; i++) header.setInt16(42 + 2 * i, spec.dims[i] ?? 1, true);
  header.setInt16(70, spec.datatype, true);
  header.setInt16(72, spec.bitpix, true);
  for (let i = 0; i < 8; i++) header.setFloat32(76 + 4 * i, 1, true);
  header.setFloat32(108, 352, true);
  header.setFloat32(112, spec.slope ?? 0, true);
  header.setFloat32(116, spec.intercept ?? 0, true);
  [0x6e, 0x2b, 0x31, 0].forEach((byte, i) => {
    header.setUint8(344 + i, byte);
  });
  const voxels = new Uint8Array(spec.voxels.buffer, spec.voxels.byteOffset, spec.voxels.byteLength);
  const file = new Uint8Array(352 + voxels.length);
  file.set(new Uint8Array(header.buffer));
  file.set(voxels, 352);
  return file;
}
