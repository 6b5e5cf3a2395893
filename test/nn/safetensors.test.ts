import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  encodeSafetensors,
  loadSafetensors,
  Module,
  readSafetensors,
  saveSafetensors,
} from "../../src/engine/index.js";
import { InputFileError, UserError } from "../../src/errors.js";
import { BatchNorm2d, Conv2d, Linear } from "../../src/nn/layers.js";
import { Random } from "../../src/util/random.js";

class Net extends Module {
  readonly conv: Conv2d;
  readonly bn = this.child("bn", new BatchNorm2d(4));
  readonly head: Linear;
  constructor(seed: number, headOut = 3) {
    super();
    const rng = new Random(seed);
    this.conv = this.child("conv", new Conv2d(rng, { in: 2, out: 4, kernel: 3 }));
    this.head = this.child("head", new Linear(rng, { in: 4, out: headOut }));
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "anomalyscope-safetensors-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("safetensors", () => {
  it("a tiny file has the bytes the specification prescribes", () => {
    const bytes = encodeSafetensors({ a: { shape: [2], data: Float32Array.from([1, -2]) } }, { k: "v" });
    const json = '{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    const padded = Math.ceil(json.length / 8) * 8;
    expect(bytes.length).toBe(8 + padded + 8);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([padded, 0, 0, 0, 0, 0, 0, 0]);
    const header = Buffer.from(bytes.subarray(8, 8 + padded)).toString("utf8");
    expect(header).toBe(json.padEnd(padded, " "));
    // 1.0f = 0x3f800000 and −2.0f = 0xc0000000, little-endian.
    expect(Array.from(bytes.subarray(8 + padded))).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
  });

  it("round-trips every parameter and buffer exactly, with metadata, and leaves no temporary file", async () => {
    const source = new Net(1);
    source.bn.runningVar.value.set([0.1, 1e-30, 3.5e38, -0]);
    const path = join(dir, "model.safetensors");
    await saveSafetensors(path, source, { method: "ae" });
    const target = new Net(2);
    expect(Array.from(target.conv.weight.value)).not.toEqual(Array.from(source.conv.weight.value));
    const metadata = await loadSafetensors(path, target);
    expect(metadata).toEqual({ method: "ae" });
    for (const [[name, a], [, b]] of source
      .namedState()
      .map((e, i) => [e, target.namedState()[i]] as const)) {
      expect(Buffer.from(b.value.buffer).equals(Buffer.from(a.value.buffer)), name).toBe(true);
    }
    const contents = await readSafetensors(path);
    expect(Object.keys(contents.tensors)).toEqual(source.namedState().map(([n]) => n));
    expect(contents.tensors["conv.weight"].shape).toEqual([4, 2, 3, 3]);
    expect((await readdir(dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("names the file and the tensor when a tensor is missing, has the wrong shape or is unexpected", async () => {
    const path = join(dir, "head3.safetensors");
    await saveSafetensors(path, new Net(1, 3));
    await expect(loadSafetensors(path, new Net(1, 5))).rejects.toThrow(
      `${path}: tensor "head.weight" has shape [3, 4], the model expects [5, 4]`,
    );
    class Bigger extends Net {
      readonly extra = this.child("extra", new Linear(new Random(3), { in: 2, out: 2 }));
    }
    await expect(loadSafetensors(path, new Bigger(1))).rejects.toThrow(
      `${path}: tensor "extra.weight" is missing`,
    );
    const biggerPath = join(dir, "bigger.safetensors");
    await saveSafetensors(biggerPath, new Bigger(1));
    const target = new Net(2);
    const before = Array.from(target.conv.weight.value);
    await expect(loadSafetensors(biggerPath, target)).rejects.toThrow(/unexpected tensor "extra\.weight"/);
    expect(Array.from(target.conv.weight.value)).toEqual(before);
    await expect(loadSafetensors(join(dir, "absent.safetensors"), target)).rejects.toThrow(InputFileError);
  });

  it("rejects truncated data, a truncated header and a corrupt header with a UserError naming the file", async () => {
    const path = join(dir, "whole.safetensors");
    await saveSafetensors(path, new Net(1));
    const bytes = await readFile(path);
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ["cut-data", bytes.subarray(0, bytes.length - 4), /truncated.*tensor "head\.bias"/],
      ["cut-header", bytes.subarray(0, 20), /truncated.*header/],
      ["tiny", bytes.subarray(0, 5), /truncated/],
    ];
    const corrupt = Buffer.from(bytes);
    corrupt[8] = "[".charCodeAt(0);
    cases.push(["bad-json", corrupt, /corrupt.*JSON/]);
    const hugeLength = Buffer.from(bytes);
    hugeLength.writeBigUInt64LE(2n ** 60n, 0);
    cases.push(["huge", hugeLength, /corrupt.*header length/]);
    const wrongOffsets = Buffer.from(
      bytes.toString("latin1").replace('"data_offsets":[0,', '"data_offsets":[4,'),
      "latin1",
    );
    cases.push(["offsets", wrongOffsets, /corrupt.*tensor "bn\.weight".*data_offsets/]);
    const f16 = Buffer.from(bytes.toString("latin1").replace('"F32"', '"F16"'), "latin1");
    cases.push(["f16", f16, /unsupported.*dtype F16/]);
    for (const [label, data, message] of cases) {
      const file = join(dir, `${label}.safetensors`);
      await writeFile(file, data);
      const load = loadSafetensors(file, new Net(1));
      await expect(load, label).rejects.toThrow(UserError);
      await expect(loadSafetensors(file, new Net(1)), label).rejects.toThrow(message);
      await expect(loadSafetensors(file, new Net(1)), label).rejects.toThrow(file);
    }
  });
});
