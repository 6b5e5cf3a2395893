import { createRequire } from "node:module";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { InputFileError } from "../../src/errors.js";
import { countSlices, readImage, readSlices } from "../../src/io/index.js";
import {
  bufferOf,
  DEFLATED_LE,
  type DicomSpec,
  dicomBytes,
  EXPLICIT_LE,
  makeTempDir,
  rleFrame,
  writeBytes,
} from "./helpers.js";

const require = createRequire(import.meta.url);

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir();
});

async function writeDicom(name: string, spec: DicomSpec): Promise<string> {
  return writeBytes(dir, name, dicomBytes(spec));
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InputFileError);
  return (error as InputFileError).reason;
}

function expectValues(actual: Float32Array, expected: number[]): void {
  expect(Array.from(actual)).toEqual(expected.map(Math.fround));
}

const unsigned16 = new Uint16Array([0, 1000, 2000, 4000]);

describe("DICOM native pixel data", () => {
  it("maps 16-bit unsigned MONOCHROME2 over the full range without a window", async () => {
    const path = await writeDicom("u16.dcm", {
      rows: 2,
      columns: 2,
      bitsAllocated: 16,
      pixelData: [bufferOf(unsigned16)],
    });
    const image = await readImage(path);
    expect([image.width, image.height, image.channels]).toEqual([2, 2, 1]);
    expectValues(image.data, [0, 0.25, 0.5, 1]);
    expect(await countSlices(path)).toBe(1);
  });

  it("inverts MONOCHROME1", async () => {
    const path = await writeDicom("mono1.dcm", {
      rows: 2,
      columns: 2,
      bitsAllocated: 16,
      photometric: "MONOCHROME1",
      pixelData: [bufferOf(unsigned16)],
    });
    expectValues((await readImage(path)).data, [1, 0.75, 0.5, 0]);
  });

  it("reads 8-bit data", async () => {
    const path = await writeDicom("u8.dcm", {
      rows: 1,
      columns: 4,
      bitsAllocated: 8,
      pixelData: [bufferOf(new Uint8Array([10, 60, 110, 210]))],
    });
    expectValues((await readImage(path)).data, [0, 0.25, 0.5, 1]);
  });

  it("applies slope/intercept to signed 16-bit data, then the first window centre/width", async () => {
    const stored = new Int16Array([-100, 0, 100, 400]);
    const base = {
      rows: 2,
      columns: 2,
      bitsAllocated: 16,
      signed: true,
      rescale: { slope: 2, intercept: -1000 },
    } as const;
    const windowed = await writeDicom("s16-window.dcm", {
      ...base,
      window: { centre: [-700, 40], width: [1001, 400] },
      pixelData: [bufferOf(stored)],
    });
    const rescaled = [-1200, -1000, -800, -200];
    const expected = rescaled.map((x) => (x <= -1200.5 ? 0 : x > -200.5 ? 1 : (x + 700.5) / 1000 + 0.5));
    const image = await readImage(windowed);
    image.data.forEach((value, i) => {
      expect(value).toBeCloseTo(expected[i], 6);
    });
    expect(expected).toEqual([
      expect.closeTo(0.0005, 9),
      expect.closeTo(0.2005, 9),
      expect.closeTo(0.4005, 9),
      1,
    ]);
    const unwindowed = await writeDicom("s16.dcm", { ...base, pixelData: [bufferOf(stored)] });
    expectValues((await readImage(unwindowed)).data, [0, 0.2, 0.4, 1]);
  });

  it("masks values to BitsStored and sign-extends 12-bit signed data", async () => {
    const stored = new Uint16Array([0xf000 | 0x0fff, 0x0001, 0xa000 | 0x0800, 0x07ff]);
    const path = await writeDicom("s12.dcm", {
      rows: 2,
      columns: 2,
      bitsAllocated: 16,
      bitsStored: 12,
      signed: true,
      pixelData: [bufferOf(stored)],
    });
    // stored values -1, 1, -2048, 2047 -> full range [-2048, 2047]
    expectValues((await readImage(path)).data, [2047 / 4095, 2049 / 4095, 0, 1]);
  });

  it("splits multi-frame data into slices sharing one intensity mapping", async () => {
    const frames = new Uint8Array([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 200]);
    const path = await writeDicom("multi.dcm", {
      rows: 2,
      columns: 2,
      bitsAllocated: 8,
      frames: 3,
      pixelData: [bufferOf(frames)],
    });
    const slices = await readSlices(path);
    expect(slices).toHaveLength(3);
    expectValues(slices[2].data, [0.4, 0.45, 0.5, 1]);
    expectValues((await readImage(path)).data, [0.2, 0.25, 0.3, 0.35]);
    expectValues((await readImage(path, { slice: 0 })).data, [0, 0.05, 0.1, 0.15]);
    expect(await countSlices(path)).toBe(3);
    expect(await reasonOf(readImage(path, { slice: 3 }))).toBe("wrong-dimensions");
  });

  it("reads RGB with planar configuration 0 and 1", async () => {
    const interleaved = new Uint8Array([255, 0, 51, 0, 255, 102]);
    const planarData = new Uint8Array([255, 0, 0, 255, 51, 102]);
    const expected = [1, 0, 0, 1, 0.2, 0.4];
    for (const [planarConfiguration, data] of [
      [0, interleaved],
      [1, planarData],
    ] as const) {
      const path = await writeDicom(`rgb${planarConfiguration}.dcm`, {
        rows: 1,
        columns: 2,
        bitsAllocated: 8,
        samplesPerPixel: 3,
        planarConfiguration,
        pixelData: [bufferOf(data)],
      });
      const image = await readImage(path);
      expect(image.channels).toBe(3);
      expectValues(image.data, expected);
    }
  });

  it("reads implicit little endian, explicit big endian and deflated data sets", async () => {
    const bigEndianBytes = new Uint8Array(bufferOf(unsigned16)).map((_, i, bytes) => bytes[i ^ 1]);
    for (const transferSyntax of ["1.2.840.10008.1.2", "1.2.840.10008.1.2.2", DEFLATED_LE]) {
      const pixelData =
        transferSyntax === "1.2.840.10008.1.2.2" ? bigEndianBytes.buffer : bufferOf(unsigned16);
      const path = await writeDicom(`ts-${transferSyntax}.dcm`, {
        transferSyntax,
        rows: 2,
        columns: 2,
        bitsAllocated: 16,
        pixelData: [pixelData],
      });
      expectValues((await readImage(path)).data, [0, 0.25, 0.5, 1]);
    }
  });
});

describe("DICOM compressed pixel data", () => {
  it("decodes RLE Lossless (16-bit grey, 8-bit RGB, multi-frame)", async () => {
    const path = await writeDicom("rle16.dcm", {
      transferSyntax: "1.2.840.10008.1.2.5",
      rows: 2,
      columns: 4,
      bitsAllocated: 16,
      pixelData: [rleFrame([[0, 0, 0, 1000, 2000, 4000, 4000, 4000]], 2)],
    });
    expectValues((await readImage(path)).data, [0, 0, 0, 0.25, 0.5, 1, 1, 1]);
    const colour = await writeDicom("rle-rgb.dcm", {
      transferSyntax: "1.2.840.10008.1.2.5",
      rows: 1,
      columns: 2,
      bitsAllocated: 8,
      samplesPerPixel: 3,
      pixelData: [
        rleFrame(
          [
            [255, 0],
            [0, 51],
            [102, 102],
          ],
          1,
        ),
      ],
    });
    expectValues((await readImage(colour)).data, [1, 0, 0, 0.2, 0.4, 0.4]);
    const multi = await writeDicom("rle-multi.dcm", {
      transferSyntax: "1.2.840.10008.1.2.5",
      rows: 1,
      columns: 2,
      bitsAllocated: 8,
      frames: 2,
      pixelData: [rleFrame([[0, 50]], 1), rleFrame([[100, 200]], 1)],
    });
    const slices = await readSlices(multi);
    expectValues(slices[0].data, [0, 0.25]);
    expectValues(slices[1].data, [0.5, 1]);
  });

  interface WasmEncoder {
    getDecodedBuffer(info: Record<string, unknown>): Uint8Array;
    getEncodedBuffer(): Uint8Array;
    encode(): void;
    delete(): void;
  }

  async function encodeWith(
    packageName: string,
    className: string,
    samples: Uint8Array | Uint16Array,
    info: Record<string, unknown>,
  ): Promise<ArrayBuffer> {
    const module = (await (
      require(packageName) as () => Promise<Record<string, new () => WasmEncoder>>
    )()) as Record<string, new () => WasmEncoder>;
    const encoder = new module[className]();
    encoder
      .getDecodedBuffer(info)
      .set(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
    encoder.encode();
    const encoded = encoder.getEncodedBuffer().slice();
    encoder.delete();
    return encoded.buffer;
  }

  const samples12 = new Uint16Array([0, 1000, 2000, 4000, 4000, 3000, 2000, 1000]);

  it("decodes JPEG-LS lossless (CharLS wasm)", async () => {
    const encoded = await encodeWith("@cornerstonejs/codec-charls", "JpegLSEncoder", samples12, {
      width: 4,
      height: 2,
      bitsPerSample: 16,
      componentCount: 1,
      isSigned: false,
    });
    const path = await writeDicom("jls.dcm", {
      transferSyntax: "1.2.840.10008.1.2.4.80",
      rows: 2,
      columns: 4,
      bitsAllocated: 16,
      pixelData: [encoded],
    });
    expectValues((await readImage(path)).data, [0, 0.25, 0.5, 1, 1, 0.75, 0.5, 0.25]);
  });

  it("decodes JPEG 2000 lossless (OpenJPEG wasm)", async () => {
    const ramp = new Uint16Array(64 * 64).map((_, i) => (i % 64) * 64);
    const encoded = await encodeWith("@cornerstonejs/codec-openjpeg", "J2KEncoder", ramp, {
      width: 64,
      height: 64,
      bitsPerSample: 16,
      componentCount: 1,
      isSigned: false,
    });
    const path = await writeDicom("j2k.dcm", {
      transferSyntax: "1.2.840.10008.1.2.4.90",
      rows: 64,
      columns: 64,
      bitsAllocated: 16,
      pixelData: [encoded],
    });
    expectValues(
      (await readImage(path)).data,
      Array.from(ramp, (value) => value / (63 * 64)),
    );
  });

  it("decodes JPEG baseline 8-bit (libjpeg-turbo wasm)", async () => {
    const flat = new Uint8Array(64).fill(100);
    flat.fill(200, 32);
    const encoded = bufferOf(
      await sharp(flat, { raw: { width: 8, height: 8, channels: 1 } })
        .toColourspace("b-w")
        .jpeg({ quality: 100 })
        .toBuffer(),
    );
    const path = await writeDicom("jpeg.dcm", {
      transferSyntax: "1.2.840.10008.1.2.4.50",
      rows: 8,
      columns: 8,
      bitsAllocated: 8,
      window: { centre: 128, width: 256 },
      pixelData: [encoded],
    });
    const image = await readImage(path);
    image.data.forEach((value, i) => {
      expect(Math.abs(value - (i < 32 ? 100 : 200) / 255)).toBeLessThan(4 / 255);
    });
  });

  it("rejects 12-bit JPEG extended and unknown syntaxes as unsupported, naming the UID", async () => {
    const extended = await writeDicom("jpeg12.dcm", {
      transferSyntax: "1.2.840.10008.1.2.4.51",
      rows: 1,
      columns: 1,
      bitsAllocated: 16,
      bitsStored: 12,
      pixelData: [new Uint8Array([0xff, 0xd8, 0xff, 0xd9]).buffer],
    });
    expect(await reasonOf(readImage(extended))).toBe("unsupported");
    for (const uid of ["1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.201", "1.2.3.4.5"]) {
      const path = await writeDicom(`ts-${uid}.dcm`, {
        transferSyntax: uid,
        rows: 1,
        columns: 2,
        bitsAllocated: 8,
        pixelData: [new Uint8Array([1, 2]).buffer],
      });
      const error = await readImage(path).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InputFileError);
      expect((error as InputFileError).reason).toBe("unsupported");
      expect((error as Error).message).toContain(`transfer syntax ${uid}`);
    }
    const mpeg = await readImage(
      await writeDicom("mpeg.dcm", {
        transferSyntax: "1.2.840.10008.1.2.4.100",
        rows: 1,
        columns: 2,
        bitsAllocated: 8,
        pixelData: [new Uint8Array([1, 2]).buffer],
      }),
    ).catch((caught: unknown) => caught);
    expect((mpeg as Error).message).toContain("MPEG2");
  });

  it("reports a corrupt compressed frame instead of returning pixels", async () => {
    const path = await writeDicom("bad-jls.dcm", {
      transferSyntax: "1.2.840.10008.1.2.4.80",
      rows: 2,
      columns: 2,
      bitsAllocated: 8,
      pixelData: [new Uint8Array([0xff, 0xd8, 0, 1, 2, 3]).buffer],
    });
    expect(await readImage(path).catch((caught: unknown) => caught)).toBeInstanceOf(InputFileError);
  });
});

describe("DICOM errors", () => {
  it("reports truncated pixel data, empty, missing and non-DICOM files", async () => {
    const bytes = dicomBytes({
      rows: 2,
      columns: 2,
      bitsAllocated: 16,
      frames: 2,
      pixelData: [bufferOf(new Uint16Array(8))],
    });
    const cut = await writeBytes(dir, "cut.dcm", bytes.subarray(0, bytes.length - 6));
    expect(await reasonOf(readImage(cut))).toBe("truncated");
    const short = await writeDicom("short.dcm", {
      rows: 2,
      columns: 2,
      bitsAllocated: 16,
      frames: 3,
      pixelData: [bufferOf(new Uint16Array(8))],
    });
    expect(await reasonOf(readSlices(short))).toBe("truncated");
    const headerOnly = await writeBytes(dir, "header-cut.dcm", bytes.subarray(0, 200));
    expect(await reasonOf(readImage(headerOnly))).toBe("corrupt");
    expect(await reasonOf(readImage(await writeBytes(dir, "empty.dcm", new Uint8Array())))).toBe("empty");
    expect(await reasonOf(readImage(`${dir}/missing.dcm`))).toBe("missing");
    expect(
      await reasonOf(
        readImage(await writeBytes(dir, "text.dcm", new TextEncoder().encode("not a dicom file at all"))),
      ),
    ).not.toBe("");
    const noPixels = dicomBytes({ rows: 2, columns: 2, bitsAllocated: 8, pixelData: [] });
    expect(await reasonOf(readImage(await writeBytes(dir, "nopixels.dcm", noPixels)))).toMatch(
      /not-an-image|truncated/,
    );
  });

  it("rejects unsupported photometric interpretations and zero dimensions", async () => {
    const palette = await writeDicom("palette.dcm", {
      rows: 1,
      columns: 2,
      bitsAllocated: 8,
      photometric: "PALETTE COLOR",
      pixelData: [new Uint8Array([1, 2]).buffer],
    });
    expect(await reasonOf(readImage(palette))).toBe("unsupported");
    const zero = await writeDicom("zero.dcm", {
      rows: 0,
      columns: 2,
      bitsAllocated: 8,
      pixelData: [new Uint8Array([1, 2]).buffer],
    });
    expect(await reasonOf(readImage(zero))).toBe("wrong-dimensions");
  });

  it("keeps explicit little endian as the default transfer syntax of the helpers", () => {
    expect(EXPLICIT_LE).toBe("1.2.840.10008.1.2.1");
  });
});
