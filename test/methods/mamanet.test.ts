/**
 * MAMA Net mechanism (methods.md §5): no skip connection bypasses the memory (with every memory row
 * equal, every image reconstructs to the same output); one training step changes the selected memory
 * rows and leaves every unselected row bit-identical; γ of the MSGSA blocks starts at 0 and learns; the
 * ablation switches build what they say (no memory, cosine §1.2 memory, no attention parameters, no
 * Gaussian feed without the Wasserstein term); the config rejects bad values by name.
 */
import { describe, expect, it } from "vitest";
import { compileFunction } from "../../src/engine/step.js";
import { getMethod, parseMethodConfig } from "../../src/methods/index.js";
import type { MamaNetConfig } from "../../src/methods/mamanet/index.js";
import { MamaNetwork } from "../../src/methods/mamanet/network.js";
import { HashMemory, Memory } from "../../src/nn/index.js";
import { Random } from "../../src/util/random.js";

const method = getMethod("mamanet");
const configOf = (raw: object) => parseMethodConfig(method, raw) as MamaNetConfig;
const SIZE = 64;

function images(count: number, seed: number): Float32Array {
  const r = new Random(seed);
  return Float32Array.from({ length: count * SIZE * SIZE }, () => r.uniform());
}

describe("MAMA Net network", () => {
  it("no skip bypasses the memory: with all memory rows equal, different images reconstruct identically", async () => {
    const config = configOf({});
    const network = new MamaNetwork(new Random(1), { channels: 1, ...config }).eval();
    const memory = network.memory as HashMemory;
    expect(memory).toBeInstanceOf(HashMemory);
    const row = memory.weight.value.slice(0, 256);
    for (let i = 0; i < config.memorySize; i++) memory.weight.value.set(row, i * 256);
    memory.weight.value = memory.weight.value.slice();
    const fn = await compileFunction({
      modules: [network],
      inputs: { images: { shape: [2, 1, SIZE, SIZE] } },
      build: ({ images }) => ({ reconstruction: network.forward(images).reconstruction }),
    });
    const x = images(2, 2);
    const { reconstruction } = await fn.run({ images: x });
    await fn.release();
    const out = reconstruction as Float32Array;
    const half = SIZE * SIZE;
    expect(Array.from(out.subarray(0, half))).toEqual(Array.from(out.subarray(half)));
    // The inputs do differ, and the control without a memory reconstructs them differently.
    const plain = new MamaNetwork(new Random(1), { channels: 1, ...config, memory: "none" }).eval();
    const control = await compileFunction({
      modules: [plain],
      inputs: { images: { shape: [2, 1, SIZE, SIZE] } },
      build: ({ images }) => ({ reconstruction: plain.forward(images).reconstruction }),
    });
    const other = (await control.run({ images: x })).reconstruction as Float32Array;
    await control.release();
    expect(other.subarray(0, half).some((v, i) => v !== other[half + i])).toBe(true);
  });

  it("the ablation switches build what they say", () => {
    const names = (raw: object) =>
      new MamaNetwork(new Random(1), { channels: 1, ...configOf(raw) }).namedState().map(([n]) => n);
    const full = names({});
    expect(full).toContain("memory.weight");
    expect(full).toContain("memory.projection");
    expect(full.filter((n) => n.endsWith(".gamma"))).toHaveLength(9);
    expect(names({ memory: "none" }).some((n) => n.startsWith("memory."))).toBe(false);
    expect(names({ attention: false }).some((n) => /gamma|query|key|value/.test(n))).toBe(false);
    const cosine = new MamaNetwork(new Random(1), { channels: 1, ...configOf({ memory: "cosine" }) });
    expect(cosine.memory).toBeInstanceOf(Memory);
    expect((cosine.memory as Memory).options.addressing).toBe("cosine");
  });

  it("the config is strict and names bad values", () => {
    expect(() => configOf({ memory: "lsh" })).toThrow(/memory/);
    expect(() => configOf({ attentions: false })).toThrow(/unknown key "attentions"/);
    expect(() => configOf({ memorySize: 4 })).toThrow(/candidates: must not exceed memorySize/);
    expect(method.checkImageSize(configOf({}), 48)).toMatch(/at least 64/);
    expect(method.checkImageSize(configOf({}), 128)).toBeUndefined();
  });
});

describe("MAMA Net training step", () => {
  async function oneStep(raw: object) {
    const config = configOf(raw);
    const instance = method.create(config, { imageSize: SIZE, channels: 1, random: new Random(4) });
    const network = instance.modules.mamanet as MamaNetwork;
    const before = new Map(network.namedParameters().map(([n, p]) => [n, p.value.slice()]));
    const report = await instance.trainBatch(images(2, 5), 2, {
      epoch: 0,
      epochs: 1,
      iteration: 0,
      random: new Random(6),
    });
    const after = new Map(network.namedParameters().map(([n, p]) => [n, p.value.slice()]));
    await instance.dispose();
    return { report, before, after };
  }

  it("changes the selected memory rows only, and γ learns from 0", async () => {
    const { report, before, after } = await oneStep({});
    expect(report.mse).toBeGreaterThan(0);
    expect(report.wasserstein).toBeGreaterThan(0);
    expect(report.loss).toBeCloseTo(report.mse + 0.1 * report.wasserstein, 5);
    const m0 = before.get("memory.weight")!;
    const m1 = after.get("memory.weight")!;
    let changed = 0;
    for (let i = 0; i < 500; i++) {
      const same = m0.subarray(i * 256, (i + 1) * 256).every((v, j) => v === m1[i * 256 + j]);
      if (!same) changed++;
    }
    // 2 images × 16 positions × 8 candidates select at most 256 of the 500 rows.
    expect(changed).toBeGreaterThan(0);
    expect(changed).toBeLessThanOrEqual(256);
    expect(before.get("sa.gamma")![0]).toBe(0);
    expect(after.get("sa.gamma")![0]).not.toBe(0);
  });

  it("without the Wasserstein term the loss is the MSE and no Gaussian samples are fed", async () => {
    const { report } = await oneStep({ wassersteinWeight: 0 });
    expect(report.loss).toBe(report.mse);
    expect(report.wasserstein).toBeUndefined();
  });

  it("the sliced and pixel Wasserstein terms train", async () => {
    for (const raw of [{ wassersteinEstimator: "sliced" }, { wassersteinTarget: "pixels" }]) {
      const { report } = await oneStep(raw);
      expect(report.wasserstein, JSON.stringify(raw)).toBeGreaterThan(0);
      expect(Number.isFinite(report.loss)).toBe(true);
    }
  });
});
