import { describe, expect, it } from "vitest";
import type { Image } from "../../src/io/image.js";
import {
  generateIndustrialImage,
  generateMedicalImage,
  generateObjectImage,
  industrialDefects,
  industrialStyle,
  industrialTextures,
  medicalDefects,
  objectDefects,
  type SynthSample,
} from "../../src/synth/index.js";
import { Random } from "../../src/util/random.js";

const size = 96;

/** Mean over channels of |image − reference| at pixel i. */
function difference(sample: SynthSample, i: number): number {
  const plane = sample.mask.data.length;
  let sum = 0;
  for (let c = 0; c < sample.image.channels; c++)
    sum += Math.abs(sample.image.data[c * plane + i] - sample.reference.data[c * plane + i]);
  return sum / sample.image.channels;
}

/** The defect changes the image inside its mask, visibly, and (almost) nowhere else. */
function expectVisibleDefect(sample: SynthSample): void {
  let inside = 0;
  let insideSum = 0;
  let insideChanged = 0;
  let outsideSum = 0;
  for (let i = 0; i < sample.mask.data.length; i++) {
    const d = difference(sample, i);
    if (sample.mask.data[i] > 0) {
      inside++;
      insideSum += d;
      if (d > 0.05) insideChanged++;
    } else outsideSum += d;
  }
  expect(inside, sample.defect).toBeGreaterThan(0);
  expect(insideSum / inside, sample.defect).toBeGreaterThan(0.05);
  expect(insideChanged / inside, sample.defect).toBeGreaterThan(0.4);
  expect(outsideSum / (sample.mask.data.length - inside), sample.defect).toBeLessThan(0.01);
}

function expectNormal(sample: SynthSample): void {
  expect(sample.defect).toBe("good");
  expect(sample.mask.data.every((v) => v === 0)).toBe(true);
  expect(sample.image.data).toEqual(sample.reference.data);
  expect(sample.image.data.every((v) => v >= 0 && v <= 1)).toBe(true);
}

/** Mean over pixels of the standard deviation across images. */
function meanPixelStd(images: Image[]): number {
  const n = images.length;
  let total = 0;
  for (let i = 0; i < images[0].data.length; i++) {
    let sum = 0;
    let squares = 0;
    for (const image of images) {
      sum += image.data[i];
      squares += image.data[i] ** 2;
    }
    total += Math.sqrt(Math.max(0, squares / n - (sum / n) ** 2));
  }
  return total / images[0].data.length;
}

type Make = (rng: Random, channels: 1 | 3, defect: string) => SynthSample;

const kinds: Array<{ name: string; defects: readonly string[]; make: Make }> = [
  ...industrialTextures.map((texture) => ({
    name: `industrial/${texture}`,
    defects: industrialDefects,
    make: ((rng, channels, defect) =>
      generateIndustrialImage(
        rng,
        { size, channels, style: industrialStyle(new Random(5), texture) },
        defect as (typeof industrialDefects)[number],
      )) as Make,
  })),
  {
    name: "object",
    defects: objectDefects,
    make: (rng, channels, defect) =>
      generateObjectImage(rng, { size, channels }, defect as (typeof objectDefects)[number]),
  },
  {
    name: "medical",
    defects: medicalDefects,
    make: (rng, channels, defect) =>
      generateMedicalImage(rng, { size, channels }, defect as (typeof medicalDefects)[number]),
  },
];

describe.each(kinds)("$name generator", ({ defects, make }) => {
  it.each([1, 3] as const)("makes varied normal images with %i channel(s)", (channels) => {
    const rng = new Random(11);
    const samples = Array.from({ length: 12 }, () => make(rng, channels, "good"));
    samples.forEach(expectNormal);
    expect(samples[0].image.channels).toBe(channels);
    expect(samples[0].image.width).toBe(size);
    expect(meanPixelStd(samples.map((s) => s.image))).toBeGreaterThan(0.03);
  });

  it.each([1, 3] as const)("makes visible defects with non-empty masks (%i channel(s))", (channels) => {
    const rng = new Random(23);
    for (const defect of defects) {
      for (let k = 0; k < 6; k++) {
        const sample = make(rng, channels, defect);
        expect(sample.defect).toBe(defect);
        expectVisibleDefect(sample);
      }
    }
  });

  it("is deterministic for a seed", () => {
    const a = make(new Random(3), 1, defects[0]);
    const b = make(new Random(3), 1, defects[0]);
    const c = make(new Random(4), 1, defects[0]);
    expect(a.image.data).toEqual(b.image.data);
    expect(a.mask.data).toEqual(b.mask.data);
    expect(a.image.data).not.toEqual(c.image.data);
  });
});

describe("defect geometry at 128 px", () => {
  it("keeps scratches thin and short", () => {
    const rng = new Random(8);
    const style = industrialStyle(rng, "woven");
    for (let k = 0; k < 20; k++) {
      const { mask } = generateIndustrialImage(rng, { size: 128, channels: 1, style }, "scratch");
      const area = mask.data.reduce((a, v) => a + v, 0);
      let x0 = 128;
      let x1 = 0;
      let y0 = 128;
      let y1 = 0;
      mask.data.forEach((v, i) => {
        if (v === 0) return;
        x0 = Math.min(x0, i % 128);
        x1 = Math.max(x1, i % 128);
        y0 = Math.min(y0, Math.floor(i / 128));
        y1 = Math.max(y1, Math.floor(i / 128));
      });
      const extent = Math.max(x1 - x0, y1 - y0) + 1;
      expect(extent).toBeGreaterThanOrEqual(0.07 * 128);
      expect(extent).toBeLessThanOrEqual(0.42 * 128);
      expect(area / extent).toBeLessThanOrEqual(4.5);
    }
  });

  it("puts lesions inside the skull", () => {
    const rng = new Random(9);
    for (let k = 0; k < 20; k++) {
      const { mask, reference } = generateMedicalImage(rng, { size: 128, channels: 1 }, "dark_lesion");
      let tissue = 0;
      let area = 0;
      mask.data.forEach((v, i) => {
        if (v === 0) return;
        area++;
        if (reference.data[i] > 0.3 && reference.data[i] < 0.85) tissue++;
      });
      expect(tissue / area).toBeGreaterThan(0.8);
    }
  });
});
