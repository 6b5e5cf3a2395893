/**
 * MemAE mechanism (training mode, batch-norm statistics of the batch): with the default configuration the memory read is a convex combination of memory
 * rows (weights sum to 1 or are all zero, entries below λ are exactly zero) and some positions read
 * memory at initialisation, unlike cosine addressing with λ = 0.0025 and 2000 rows, which zeroes all.
 */
import { describe, expect, it } from "vitest";
import { compileFunction } from "../../src/engine/step.js";
import { getMethod, parseMethodConfig } from "../../src/methods/index.js";
import type { MemAeConfig } from "../../src/methods/memae/index.js";
import { MemAeNetwork } from "../../src/methods/memae/network.js";
import { Random } from "../../src/util/random.js";

async function readWeights(config: MemAeConfig): Promise<Float32Array> {
  const network = new MemAeNetwork(new Random(1), {
    channels: 1,
    memorySize: config.memorySize,
    shrinkThreshold: config.shrinkThreshold,
    addressing: config.addressing,
  });
  network.train();
  const fn = await compileFunction({
    modules: [network],
    inputs: { images: { shape: [2, 1, 128, 128] } },
    build: ({ images }) => ({ weights: network.forward(images).read.weights }),
  });
  const random = new Random(2);
  const images = Float32Array.from({ length: 2 * 128 * 128 }, () => random.uniform() * 2 - 1);
  const { weights } = await fn.run({ images });
  await fn.release();
  return weights as Float32Array;
}

describe("MemAE memory read", () => {
  it("default config: rows are convex combinations (or empty) with entries below λ zeroed, and some rows read", async () => {
    const config = parseMethodConfig(getMethod("memae"), {}) as MemAeConfig;
    expect(config.addressing).toBe("dot");
    const weights = await readWeights(config);
    const rows = weights.length / config.memorySize;
    expect(rows).toBe(2 * 8 * 8);
    let reading = 0;
    for (let r = 0; r < rows; r++) {
      const row = weights.subarray(r * config.memorySize, (r + 1) * config.memorySize);
      const total = row.reduce((a, b) => a + b, 0);
      if (total > 0) {
        reading++;
        expect(total).toBeCloseTo(1, 5);
      }
      for (const w of row) expect(w === 0 || w > config.shrinkThreshold).toBe(true);
    }
    expect(reading).toBeGreaterThan(0);
  });

  it("cosine addressing with λ = 0.0025 over 2000 rows zeroes every weight (why dot is the default)", async () => {
    const config = parseMethodConfig(getMethod("memae"), { addressing: "cosine" }) as MemAeConfig;
    const weights = await readWeights(config);
    expect(weights.every((w) => w === 0)).toBe(true);
  });
});
