import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { InputFileError } from "../../src/errors.js";
import {
  countSlices,
  createImage,
  isSupportedImagePath,
  readImage,
  readSlices,
  writePng,
} from "../../src/io/index.js";
import { makeTempDir, writeBytes } from "./helpers.js";

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir();
});

async function expectInputError(promise: Promise<unknown>, reason: InputFileError["reason"]): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InputFileError);
  expect((error as InputFileError).reason).toBe(reason);
}

const grey = new Uint8Array([0, 51, 102, 255, 10, 20]);
const rgb = new Uint8Array([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]);
const rgba = new Uint8Array([10, 20, 30, 0, 40, 50, 60, 128, 70, 80, 90, 255, 100, 110, 120, 255]);

/** Planar [0,1] values of interleaved 8-bit samples. */
function planar(samples: Uint8Array, channels: number, keep = channels): number[] {
  const pixels = samples.length / channels;
  const out: number[] = [];
  for (let c = 0; c < keep; c++) for (let i = 0; i < pixels; i++) out.push(samples[i * channels + c] / 255);
  return out;
}

function expectValues(actual: Float32Array, expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((value, i) => {
    expect(value).toBeCloseTo(expected[i], 6);
  });
}

describe("raster formats (sharp)", () => {
  it("reads grey, RGB and RGBA PNG exactly, dropping alpha", async () => {
    const greyPath = await writeBytes(
      dir,
      "grey.png",
      await sharp(grey, { raw: { width: 3, height: 2, channels: 1 } })
        .toColourspace("b-w")
        .png()
        .toBuffer(),
    );
    const image = await readImage(greyPath);
    expect([image.width, image.height, image.channels]).toEqual([3, 2, 1]);
    expectValues(image.data, planar(grey, 1));
    const rgbPath = await writeBytes(
      dir,
      "rgb.png",
      await sharp(rgb, { raw: { width: 2, height: 2, channels: 3 } })
        .png()
        .toBuffer(),
    );
    expectValues((await readImage(rgbPath)).data, planar(rgb, 3));
    const rgbaPath = await writeBytes(
      dir,
      "rgba.png",
      await sharp(rgba, { raw: { width: 2, height: 2, channels: 4 } })
        .png()
        .toBuffer(),
    );
    const rgbaImage = await readImage(rgbaPath);
    expect(rgbaImage.channels).toBe(3);
    expectValues(rgbaImage.data, planar(rgba, 4, 3));
  });

  it("reads grey+alpha PNG as 1 channel and palette PNG as RGB", async () => {
    const greyAlpha = new Uint8Array([10, 128, 20, 255]);
    const path = await writeBytes(
      dir,
      "ga.png",
      await sharp(greyAlpha, { raw: { width: 2, height: 1, channels: 2 } })
        .toColourspace("b-w")
        .png()
        .toBuffer(),
    );
    const image = await readImage(path);
    expect(image.channels).toBe(1);
    expectValues(image.data, [10 / 255, 20 / 255]);
    const palette = await sharp({
      create: { width: 2, height: 1, channels: 3, background: { r: 10, g: 20, b: 30 } },
    })
      .png({ palette: true })
      .toBuffer();
    const paletteImage = await readImage(await writeBytes(dir, "palette.png", palette));
    expect(paletteImage.channels).toBe(3);
    expectValues(
      paletteImage.data,
      [10, 10, 20, 20, 30, 30].map((v) => v / 255),
    );
  });

  it("keeps 16-bit PNG and TIFF at full precision", async () => {
    const samples = new Uint16Array([0, 1000, 65535, 12345]);
    const png = await sharp(samples, { raw: { width: 2, height: 2, channels: 1 } })
      .toColourspace("grey16")
      .png()
      .toBuffer();
    const tiff = await sharp(samples, { raw: { width: 2, height: 2, channels: 1 } })
      .toColourspace("grey16")
      .tiff({ compression: "lzw" })
      .toBuffer();
    for (const [name, bytes] of [
      ["g16.png", png],
      ["g16.tif", tiff],
    ] as const) {
      const image = await readImage(await writeBytes(dir, name, bytes));
      expect(image.channels).toBe(1);
      expect(Array.from(image.data)).toEqual(Array.from(samples, (v) => Math.fround(v / 65535)));
      expect(image.data[1]).toBe(Math.fround(1000 / 65535));
    }
    const rgb16 = new Uint16Array([1000, 2000, 3000, 40000, 50000, 65535]);
    const rgbPng = await sharp(rgb16, { raw: { width: 2, height: 1, channels: 3 } })
      .toColourspace("rgb16")
      .png()
      .toBuffer();
    const image = await readImage(await writeBytes(dir, "rgb16.png", rgbPng));
    expect(Array.from(image.data)).toEqual(
      [1000, 40000, 2000, 50000, 3000, 65535].map((v) => Math.fround(v / 65535)),
    );
  });

  it("reads grey and RGB TIFF, lossless WebP and JPEG", async () => {
    const tiff = await sharp(rgb, { raw: { width: 2, height: 2, channels: 3 } })
      .tiff({ compression: "none" })
      .toBuffer();
    expectValues((await readImage(await writeBytes(dir, "rgb.tif", tiff))).data, planar(rgb, 3));
    const greyTiff = await sharp(grey, { raw: { width: 3, height: 2, channels: 1 } })
      .toColourspace("b-w")
      .tiff({ compression: "lzw" })
      .toBuffer();
    expectValues((await readImage(await writeBytes(dir, "grey.tiff", greyTiff))).data, planar(grey, 1));
    const webp = await sharp(rgba, { raw: { width: 2, height: 2, channels: 4 } })
      .webp({ lossless: true, exact: true })
      .toBuffer();
    const webpImage = await readImage(await writeBytes(dir, "rgba.webp", webp));
    expect(webpImage.channels).toBe(3);
    expectValues(webpImage.data, planar(rgba, 4, 3));
    const flat = new Uint8Array(64).fill(128);
    const jpeg = await sharp(flat, { raw: { width: 8, height: 8, channels: 1 } })
      .toColourspace("b-w")
      .jpeg({ quality: 95 })
      .toBuffer();
    const jpegImage = await readImage(await writeBytes(dir, "grey.jpg", jpeg));
    expect([jpegImage.width, jpegImage.height, jpegImage.channels]).toEqual([8, 8, 1]);
    for (const value of jpegImage.data) expect(Math.abs(value - 128 / 255)).toBeLessThanOrEqual(1 / 255);
    const colourJpeg = await sharp({
      create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 100, b: 50 } },
    })
      .jpeg({ quality: 95 })
      .toBuffer();
    const colourImage = await readImage(await writeBytes(dir, "rgb.jpeg", colourJpeg));
    expect(colourImage.channels).toBe(3);
    expect(Math.abs(colourImage.data[0] - 200 / 255)).toBeLessThan(3 / 255);
    expect(Math.abs(colourImage.data[64] - 100 / 255)).toBeLessThan(3 / 255);
    expect(Math.abs(colourImage.data[128] - 50 / 255)).toBeLessThan(3 / 255);
    expect(await countSlices(await writeBytes(dir, "again.jpg", colourJpeg))).toBe(1);
    expect(await readSlices(await writeBytes(dir, "again2.jpg", colourJpeg))).toHaveLength(1);
  });

  it("detects the format from magic bytes before the extension", async () => {
    const png = await sharp(grey, { raw: { width: 3, height: 2, channels: 1 } })
      .toColourspace("b-w")
      .png()
      .toBuffer();
    expectValues((await readImage(await writeBytes(dir, "actually-png.jpg", png))).data, planar(grey, 1));
    expectValues((await readImage(await writeBytes(dir, "no-extension", png))).data, planar(grey, 1));
  });

  it("round-trips PNG writes at 8 and 16 bits", async () => {
    const image = createImage(3, 2, 3);
    image.data.forEach((_, i) => {
      image.data[i] = (i * 3001) / 65535;
    });
    const path16 = join(dir, "out16.png");
    await writePng(path16, image, { bitDepth: 16 });
    expect(Array.from((await readImage(path16)).data)).toEqual(Array.from(image.data));
    const path8 = join(dir, "out8.png");
    await writePng(path8, image);
    const back8 = await readImage(path8);
    expect(back8.channels).toBe(3);
    expect(Array.from(back8.data)).toEqual(
      Array.from(image.data, (v) => Math.fround(Math.round(v * 255) / 255)),
    );
    const greyImage = createImage(2, 1, 1);
    greyImage.data.set([1000 / 65535, 1]);
    const greyPath = join(dir, "grey16-out.png");
    await writePng(greyPath, greyImage, { bitDepth: 16 });
    const greyBack = await readImage(greyPath);
    expect(greyBack.channels).toBe(1);
    expect(Math.round(greyBack.data[0] * 65535)).toBe(1000);
    expect(greyBack.data[0]).toBe(Math.fround(1000 / 65535));
  });

  it("reports missing, empty, truncated and non-image files", async () => {
    await expectInputError(readImage(join(dir, "does-not-exist.png")), "missing");
    await expectInputError(countSlices(join(dir, "does-not-exist.png")), "missing");
    await expectInputError(readImage(await writeBytes(dir, "empty.png", new Uint8Array())), "empty");
    await expectInputError(readImage(dir), "not-an-image");
    const big = await sharp({
      create: { width: 64, height: 64, channels: 3, background: { r: 1, g: 2, b: 3 } },
    })
      .png({ compressionLevel: 0 })
      .toBuffer();
    await expectInputError(
      readImage(await writeBytes(dir, "half.png", big.subarray(0, big.length / 2))),
      "truncated",
    );
    const jpeg = await sharp({
      create: { width: 64, height: 64, channels: 3, background: { r: 1, g: 2, b: 3 } },
    })
      .jpeg()
      .toBuffer();
    await expectInputError(
      readImage(await writeBytes(dir, "half.jpg", jpeg.subarray(0, jpeg.length / 2))),
      "truncated",
    );
    await expectInputError(
      readImage(await writeBytes(dir, "text.png", new TextEncoder().encode("hello, not a png"))),
      "not-an-image",
    );
    await expectInputError(
      readImage(await writeBytes(dir, "text.txt", new TextEncoder().encode("hello"))),
      "not-an-image",
    );
    const error = await readImage(join(dir, "gone.tif")).catch((caught: unknown) => caught);
    expect((error as Error).message).toContain("gone.tif");
    await writeFile(
      join(dir, "corrupt.webp"),
      new Uint8Array([...new TextEncoder().encode("RIFF\x10\0\0\0WEBPVP8 "), 1, 2, 3]),
    );
    await expect(readImage(join(dir, "corrupt.webp"))).rejects.toBeInstanceOf(InputFileError);
  });

  it("rejects an out-of-range slice of a single image", async () => {
    const png = await sharp(grey, { raw: { width: 3, height: 2, channels: 1 } })
      .toColourspace("b-w")
      .png()
      .toBuffer();
    await expectInputError(
      readImage(await writeBytes(dir, "one.png", png), { slice: 1 }),
      "wrong-dimensions",
    );
  });
});

describe("isSupportedImagePath", () => {
  it("accepts the supported extensions only", () => {
    for (const path of [
      "a.png",
      "b.JPG",
      "c.jpeg",
      "d.tif",
      "e.tiff",
      "f.bmp",
      "g.webp",
      "h.dcm",
      "i.dicom",
      "j.nii",
      "k.nii.gz",
    ])
      expect(isSupportedImagePath(path)).toBe(true);
    for (const path of ["scan", "a.gz", "a.txt", "a.gif", "dir/png"])
      expect(isSupportedImagePath(path)).toBe(false);
  });
});
