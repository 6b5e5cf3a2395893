/** Resize values on known patterns, binary nearest-neighbour masks, channel conversion. */
import { describe, expect, it } from "vitest";
import { convertChannels, preprocessImage, preprocessMasks, resizeImage } from "../../src/data/preprocess.js";
import { createImage, type Image } from "../../src/io/image.js";

function image(
  width: number,
  height: number,
  channels: number,
  value: (x: number, y: number, c: number) => number,
) {
  const img = createImage(width, height, channels);
  for (let c = 0; c < channels; c++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) img.data[(c * height + y) * width + x] = value(x, y, c);
  return img;
}

const values = (img: Image) => Array.from(img.data);

describe("resize", () => {
  it("linear 2x downscale of a ramp is the antialiased triangle filter (edge extended)", async () => {
    const ramp = image(4, 4, 1, (x, y) => (4 * y + x) / 15);
    const out = await resizeImage(ramp, 2, { kernel: "linear" });
    expect(out).toMatchObject({ width: 2, height: 2, channels: 1 });
    const expected = [3.125, 4.875, 10.125, 11.875].map((v) => v / 15);
    for (const [i, v] of values(out).entries()) expect(v).toBeCloseTo(expected[i], 4);
  });

  it("cubic (default) keeps constants, averages a checkerboard when downscaling, stays in [0, 1]", async () => {
    const flat = await resizeImage(
      image(9, 7, 3, (_x, _y, c) => 0.25 * (c + 1)),
      { width: 5, height: 3 },
    );
    expect(flat).toMatchObject({ width: 5, height: 3, channels: 3 });
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < 15; i++)
        expect(Math.abs(flat.data[c * 15 + i] - 0.25 * (c + 1))).toBeLessThan(1e-3);
    const checker = await resizeImage(
      image(32, 32, 1, (x, y) => (x + y) % 2),
      8,
    );
    for (const v of values(checker).slice(9, 14)) expect(v).toBeCloseTo(0.5, 2);
    const step = await resizeImage(
      image(4, 4, 1, (x) => (x < 2 ? 0 : 1)),
      16,
    );
    expect(Math.min(...values(step))).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values(step))).toBeLessThanOrEqual(1);
  });

  it("centre crop takes the middle square before resizing", async () => {
    const wide = image(8, 4, 1, (x) => x / 7);
    const out = await resizeImage(wide, 4, { centreCrop: true, kernel: "nearest" });
    expect(
      values(out)
        .slice(0, 4)
        .map((v) => Math.round(v * 7)),
    ).toEqual([2, 3, 4, 5]);
  });

  it("keeps 16-bit precision (not quantised to 8 bits)", async () => {
    const fine = image(2, 2, 1, () => 1000 / 65535);
    const out = await resizeImage(fine, 1, { kernel: "linear" });
    expect(out.data[0] * 65535).toBeCloseTo(1000, 0);
  });
});

describe("masks", () => {
  it("nearest-neighbour masks stay binary; several masks are unioned; any channel > 0 counts", async () => {
    const a = image(7, 5, 1, (x, y) => (x === 1 && y === 1 ? 0.2 : 0));
    const b = image(7, 5, 3, (x, _y, c) => (x >= 5 && c === 2 ? 1 : 0));
    const out = await preprocessMasks([a, b], 14);
    expect(out).toMatchObject({ width: 14, height: 14, channels: 1 });
    expect(values(out).every((v) => v === 0 || v === 1)).toBe(true);
    expect(values(out).filter((v) => v === 1).length).toBeGreaterThan(0);
    const [x0, y0] = [Math.floor((1.5 / 7) * 14), Math.floor((1.5 / 5) * 14)];
    expect(out.data[y0 * 14 + x0]).toBe(1);
    expect(out.data[0]).toBe(0);
    expect(values(await preprocessMasks([], 4))).toEqual(new Array(16).fill(0));
  });
});

describe("channels", () => {
  it("1 -> 3 replicates, 3 -> 1 luminance or first channel, alpha dropped", () => {
    const grey = image(2, 1, 1, (x) => x * 0.5);
    expect(values(convertChannels(grey, 3))).toEqual([0, 0.5, 0, 0.5, 0, 0.5]);
    const rgb = image(1, 1, 3, (_x, _y, c) => [1, 0.5, 0.25][c]);
    expect(convertChannels(rgb, 1).data[0]).toBeCloseTo(0.299 + 0.587 * 0.5 + 0.114 * 0.25, 6);
    expect(convertChannels(rgb, 1, "first").data[0]).toBe(1);
    const rgba = image(1, 1, 4, (_x, _y, c) => [0.2, 0.2, 0.2, 1][c]);
    expect(convertChannels(rgba, 3).channels).toBe(3);
    expect(() => convertChannels(grey, 2)).toThrow(/channels must be 1 or 3/);
  });

  it("preprocessImage converts only when asked", async () => {
    const rgb = image(4, 4, 3, () => 0.5);
    expect((await preprocessImage(rgb, { size: 2 })).channels).toBe(3);
    const grey = await preprocessImage(rgb, { size: 2, channels: 1 });
    expect(grey.channels).toBe(1);
    expect(grey.data[0]).toBeCloseTo(0.5, 4);
    expect(
      (
        await preprocessImage(
          image(4, 4, 1, () => 0.1),
          { size: 2, channels: 3 },
        )
      ).channels,
    ).toBe(3);
  });
});
