/**
 * Weights on disk as safetensors (engine.md §3.7), written by hand from the format's specification
 * so PyTorch users can open anomalyscope models: 8-byte little-endian unsigned header length N, N
 * bytes of UTF-8 JSON ({name: {dtype, shape, data_offsets: [begin, end]}, optional "__metadata__":
 * string map}, padded with spaces to a multiple of 8 bytes), then the raw little-endian tensor data,
 * offsets relative to the first byte after the header. Only "F32" is written and read.
 *
 * Every read error is a `UserError` naming the file and, where one is at fault, the tensor.
 */
import { readFile } from "node:fs/promises";
import { InputFileError, UserError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic.js";
import type { Module } from "./module.js";

export interface StoredTensor {
  shape: readonly number[];
  data: Float32Array;
}

export interface SafetensorsContents {
  tensors: Record<string, StoredTensor>;
  metadata: Record<string, string>;
}

const HEADER_LIMIT = 100 * 1024 * 1024;
const METADATA_KEY = "__metadata__";

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, d) => a * d, 1);
}

/** Serialise tensors (in the given order) and string metadata to safetensors bytes. */
export function encodeSafetensors(
  tensors: Record<string, StoredTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === METADATA_KEY) throw new Error(`safetensors: "${METADATA_KEY}" is not a valid tensor name`);
    if (t.data.length !== sizeOf(t.shape))
      throw new Error(
        `safetensors: tensor "${name}" has ${t.data.length} values for shape [${t.shape.join(", ")}]`,
      );
    header[name] = { dtype: "F32", shape: [...t.shape], data_offsets: [offset, offset + t.data.length * 4] };
    offset += t.data.length * 4;
  }
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const headerLength = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  bytes.set(json, 8);
  bytes.fill(0x20, 8 + json.length, 8 + headerLength);
  let position = 8 + headerLength;
  for (const t of Object.values(tensors)) {
    for (let i = 0; i < t.data.length; i++, position += 4) view.setFloat32(position, t.data[i], true);
  }
  return bytes;
}

/** Parse safetensors bytes; `file` names the source in errors. */
export function decodeSafetensors(bytes: Uint8Array, file: string): SafetensorsContents {
  if (bytes.length < 8) throw new InputFileError(file, "truncated", "shorter than the 8-byte header length");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(HEADER_LIMIT))
    throw new InputFileError(file, "corrupt", `header length ${headerLength} is not plausible`);
  const dataStart = 8 + Number(headerLength);
  if (dataStart > bytes.length)
    throw new InputFileError(
      file,
      "truncated",
      `header of ${headerLength} bytes runs past the end of the file`,
    );
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, dataStart)).toString("utf8"));
  } catch (error) {
    throw new InputFileError(file, "corrupt", `header is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header))
    throw new InputFileError(file, "corrupt", "header is not a JSON object");
  const dataLength = bytes.length - dataStart;
  const tensors: Record<string, StoredTensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      metadata = parseMetadata(entry, file);
      continue;
    }
    const { shape, begin, end } = parseEntry(name, entry, file);
    if (end > dataLength) {
      throw new InputFileError(
        file,
        "truncated",
        `tensor "${name}" needs bytes ${begin}..${end} of the data but only ${dataLength} are present`,
      );
    }
    const data = new Float32Array((end - begin) / 4);
    for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(dataStart + begin + 4 * i, true);
    tensors[name] = { shape, data };
  }
  return { tensors, metadata };
}

function parseMetadata(entry: unknown, file: string): Record<string, string> {
  if (
    typeof entry !== "object" ||
    entry === null ||
    Array.isArray(entry) ||
    Object.values(entry).some((v) => typeof v !== "string")
  )
    throw new InputFileError(file, "corrupt", `"${METADATA_KEY}" must map strings to strings`);
  return entry as Record<string, string>;
}

function parseEntry(
  name: string,
  entry: unknown,
  file: string,
): { shape: number[]; begin: number; end: number } {
  const bad = (detail: string): never => {
    throw new InputFileError(file, "corrupt", `tensor "${name}": ${detail}`);
  };
  if (typeof entry !== "object" || entry === null) return bad("header entry is not an object");
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (dtype !== "F32")
    throw new InputFileError(
      file,
      "unsupported",
      `tensor "${name}" has dtype ${String(dtype)}; only F32 is supported`,
    );
  const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount))
    return bad("shape is not a list of non-negative integers");
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1])
    return bad("data_offsets is not [begin, end]");
  const [begin, end] = offsets as number[];
  if (end - begin !== sizeOf(shape) * 4)
    bad(`data_offsets cover ${end - begin} bytes but shape [${shape.join(", ")}] needs ${sizeOf(shape) * 4}`);
  return { shape, begin, end };
}

/** Write tensors and metadata to `path` atomically. */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, StoredTensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Read every tensor and the metadata of a safetensors file. */
export async function readSafetensors(path: string): Promise<SafetensorsContents> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch {
    throw new InputFileError(path, "missing", "cannot read the weights file");
  }
  return decodeSafetensors(bytes, path);
}

/** Save every parameter and buffer of `module`, named by its path, atomically. */
export async function saveSafetensors(
  path: string,
  module: Module,
  metadata: Record<string, string> = {},
): Promise<void> {
  const tensors: Record<string, StoredTensor> = {};
  for (const [name, p] of module.namedState()) tensors[name] = { shape: p.shape, data: p.value };
  await writeSafetensors(path, tensors, metadata);
}

/**
 * Load every parameter and buffer of `module` from `path`. The file must hold exactly the module's
 * tensors with the same shapes (a resizable buffer takes the stored leading axis); nothing is changed unless
 * all of them match. Returns the metadata.
 */
export async function loadSafetensors(path: string, module: Module): Promise<Record<string, string>> {
  const { tensors, metadata } = await readSafetensors(path);
  const state = module.namedState();
  for (const [name, p] of state) {
    const stored = tensors[name];
    if (!stored) throw new UserError(`${path}: tensor "${name}" is missing`);
    if (stored.shape.join() !== p.shape.join() && !p.resizableTo(stored.shape)) {
      throw new UserError(
        `${path}: tensor "${name}" has shape [${stored.shape.join(", ")}], the model expects [${p.shape.join(", ")}]`,
      );
    }
  }
  const expected = new Set(state.map(([name]) => name));
  const unexpected = Object.keys(tensors).filter((name) => !expected.has(name));
  if (unexpected.length > 0)
    throw new UserError(`${path}: unexpected tensor "${unexpected[0]}" (not a parameter of this model)`);
  for (const [name, p] of state) {
    const stored = tensors[name];
    if (stored.shape.join() === p.shape.join()) p.assign(stored.data);
    else p.resize(stored.shape, stored.data);
  }
  return metadata;
}
