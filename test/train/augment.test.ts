/** Training augmentation: identity leaves images alone; a flip mirrors; a translation shifts with zero fill. */
import { describe, expect, it } from "vitest";
import { augmentBatch, noAugmentation } from "../../src/train/augment.js";
import { Random } from "../../src/util/random.js";

const ramp = (size: number) => Float32Array.from({ length: size * size }, (_, i) => (i % size) / size + 0.01);

describe("augmentation", () => {
  it("no augmentation is the identity", () => {
    const image = ramp(8);
    const copy = image.slice();
    augmentBatch(image, 1, 1, 8, noAugmentation, new Random(0));
    expect(image).toEqual(copy);
  });

  it("a flip mirrors each row", () => {
    const size = 8;
    const flips: boolean[] = [];
    const random = new Random(3);
    for (let trial = 0; trial < 8; trial++) {
      const image = ramp(size);
      augmentBatch(image, 1, 1, size, { ...noAugmentation, flip: true }, random);
      const mirrored = image[0] === ramp(size)[size - 1];
      if (mirrored) for (let x = 0; x < size; x++) expect(image[x]).toBeCloseTo(ramp(size)[size - 1 - x], 6);
      else expect(image).toEqual(ramp(size));
      flips.push(mirrored);
    }
    expect(flips).toContain(true);
    expect(flips).toContain(false);
  });

  it("a translation moves content by whole pixels and fills with zeros", () => {
    const size = 16;
    const image = new Float32Array(size * size);
    image[8 * size + 8] = 1;
    augmentBatch(image, 1, 1, size, { ...noAugmentation, translate: 0.25 }, new Random(5));
    expect(image.reduce((a, b) => a + b, 0)).toBe(1);
    expect(image.filter((v) => v !== 0)).toHaveLength(1);
    const moved = image.indexOf(1);
    expect(Math.abs((moved % size) - 8)).toBeLessThanOrEqual(4);
    expect(Math.abs(Math.floor(moved / size) - 8)).toBeLessThanOrEqual(4);
  });
});
