import { beforeAll, describe, expect, it } from "vitest";
import type { InputFileError } from "../../src/errors.js";
import { readImage } from "../../src/io/index.js";
import { makeTempDir, writeBytes } from "./helpers.js";

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir();
});

interface BmpSpec {
  width: number;
  height: number;
  bitsPerPixel: 1 | 4 | 8 | 24 | 32;
  topDown?: boolean;
  palette?: [number, number, number][];
  /** Rows top to bottom, each the row's pixel bytes without padding. */
  rows: number[][];
}

/** A BITMAPINFOHEADER BMP written byte by byte. */
function bmpBytes(spec: BmpSpec): Uint8Array {
  const rowBytes = Math.ceil((spec.bitsPerPixel * spec.width) / 32) * 4;
  const paletteBytes = (spec.palette?.length ?? 0) * 4;
  const pixelOffset = 54 + paletteBytes;
  const bytes = new Uint8Array(pixelOffset + rowBytes * spec.height);
  const view = new DataView(bytes.buffer);
  bytes.set([0x42, 0x4d]);
  view.setUint32(2, bytes.length, true);
  view.setUint32(10, pixelOffset, true);
  view.setUint32(14, 40, true);
  view.setInt32(18, spec.width, true);
  view.setInt32(22, spec.topDown ? -spec.height : spec.height, true);
  view.setUint16(26, 1, true);
  view.setUint16(28, spec.bitsPerPixel, true);
  view.setUint32(46, spec.palette?.length ?? 0, true);
  spec.palette?.forEach(([r, g, b], i) => {
    bytes.set([b, g, r, 0], 54 + 4 * i);
  });
  spec.rows.forEach((row, y) => {
    const stored = spec.topDown ? y : spec.height - 1 - y;
    bytes.set(row, pixelOffset + stored * rowBytes);
  });
  return bytes;
}

describe("BMP decoder", () => {
  it("reads 24-bit bottom-up and top-down BGR", async () => {
    const rows = [
      [30, 20, 10, 60, 50, 40],
      [90, 80, 70, 120, 110, 100],
    ];
    const expected = [10, 40, 70, 100, 20, 50, 80, 110, 30, 60, 90, 120].map((v) => Math.fround(v / 255));
    for (const topDown of [false, true]) {
      const path = await writeBytes(
        dir,
        `rgb${topDown}.bmp`,
        bmpBytes({ width: 2, height: 2, bitsPerPixel: 24, topDown, rows }),
      );
      const image = await readImage(path);
      expect([image.width, image.height, image.channels]).toEqual([2, 2, 3]);
      expect(Array.from(image.data)).toEqual(expected);
    }
  });

  it("reads 32-bit BGRX, dropping the fourth byte", async () => {
    const path = await writeBytes(
      dir,
      "rgb32.bmp",
      bmpBytes({ width: 1, height: 1, bitsPerPixel: 32, rows: [[3, 2, 1, 99]] }),
    );
    expect(Array.from((await readImage(path)).data)).toEqual([1, 2, 3].map((v) => Math.fround(v / 255)));
  });

  it("reads 8-bit grey palettes as 1 channel and colour palettes as RGB", async () => {
    const greyPalette = Array.from({ length: 256 }, (_, i) => [i, i, i] as [number, number, number]);
    const grey = await readImage(
      await writeBytes(
        dir,
        "grey8.bmp",
        bmpBytes({ width: 3, height: 1, bitsPerPixel: 8, palette: greyPalette, rows: [[0, 128, 255]] }),
      ),
    );
    expect(grey.channels).toBe(1);
    expect(Array.from(grey.data)).toEqual([0, 128 / 255, 1].map(Math.fround));
    const colour = await readImage(
      await writeBytes(
        dir,
        "pal8.bmp",
        bmpBytes({
          width: 2,
          height: 1,
          bitsPerPixel: 8,
          palette: [
            [255, 0, 0],
            [0, 0, 255],
          ],
          rows: [[1, 0]],
        }),
      ),
    );
    expect(colour.channels).toBe(3);
    expect(Array.from(colour.data)).toEqual([0, 1, 0, 0, 1, 0]);
  });

  it("reads 1-bit and 4-bit palettes", async () => {
    const mono = await readImage(
      await writeBytes(
        dir,
        "mono.bmp",
        bmpBytes({
          width: 10,
          height: 1,
          bitsPerPixel: 1,
          palette: [
            [0, 0, 0],
            [255, 255, 255],
          ],
          rows: [[0b10110000, 0b01000000]],
        }),
      ),
    );
    expect(Array.from(mono.data)).toEqual([1, 0, 1, 1, 0, 0, 0, 0, 0, 1]);
    const palette16 = Array.from(
      { length: 16 },
      (_, i) => [i * 17, i * 17, i * 17] as [number, number, number],
    );
    const nibble = await readImage(
      await writeBytes(
        dir,
        "four.bmp",
        bmpBytes({ width: 3, height: 1, bitsPerPixel: 4, palette: palette16, rows: [[0x1f, 0x80]] }),
      ),
    );
    expect(Array.from(nibble.data)).toEqual([17, 255, 136].map((v) => Math.fround(v / 255)));
  });

  it("rejects truncated, RLE-compressed and 16-bit files", async () => {
    const full = bmpBytes({
      width: 4,
      height: 4,
      bitsPerPixel: 24,
      rows: Array.from({ length: 4 }, () => new Array(12).fill(7)),
    });
    const reasons = async (bytes: Uint8Array, name: string) =>
      ((await readImage(await writeBytes(dir, name, bytes)).catch((e: unknown) => e)) as InputFileError)
        .reason;
    expect(await reasons(full.subarray(0, full.length - 20), "cut.bmp")).toBe("truncated");
    expect(await reasons(full.subarray(0, 30), "cut-header.bmp")).toBe("truncated");
    const rle = full.slice();
    new DataView(rle.buffer).setUint32(30, 1, true);
    expect(await reasons(rle, "rle.bmp")).toBe("unsupported");
    const sixteen = full.slice();
    new DataView(sixteen.buffer).setUint16(28, 16, true);
    expect(await reasons(sixteen, "sixteen.bmp")).toBe("unsupported");
    const noWidth = full.slice();
    new DataView(noWidth.buffer).setInt32(18, 0, true);
    expect(await reasons(noWidth, "zero.bmp")).toBe("wrong-dimensions");
  });
});
