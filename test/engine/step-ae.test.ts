/**
 * The reference conv autoencoder (methods.md §2.1) as a module, and a training step on it: parameter
 * count, PyTorch state-dict paths, shapes, and a few Adam steps at a small size (finite, decreasing
 * loss; batch-norm running statistics fed back).
 */
import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/api.js";
import { trace } from "../../src/engine/ir.js";
import { bind } from "../../src/engine/module.js";
import { compileFunction, compileStep } from "../../src/engine/step.js";
import { ConvAutoencoder } from "../../src/methods/ae/network.js";
import { Adam } from "../../src/nn/optim.js";
import { Random } from "../../src/util/random.js";
import { images } from "./step-model.js";

describe("ConvAutoencoder", () => {
  it("has 1,378,657 parameters at one channel, with PyTorch's state-dict paths", () => {
    const model = new ConvAutoencoder(new Random(1));
    expect(model.parameterCount()).toBe(1_378_657);
    const shapes = Object.fromEntries(model.namedState().map(([name, p]) => [name, p.shape]));
    expect(shapes["encoder.0.weight"]).toEqual([32, 1, 4, 4]);
    expect(shapes["encoder.0.bias"]).toEqual([32]);
    expect(shapes["encoder.2.weight"]).toEqual([64, 32, 4, 4]);
    expect(shapes["encoder.2.bias"]).toBeUndefined();
    expect(shapes["encoder.3.running_var"]).toEqual([64]);
    expect(shapes["encoder.9.weight"]).toEqual([256]);
    expect(shapes["decoder.0.weight"]).toEqual([256, 128, 4, 4]);
    expect(shapes["decoder.7.running_mean"]).toEqual([32]);
    expect(shapes["decoder.9.weight"]).toEqual([32, 1, 4, 4]);
    expect(shapes["decoder.9.bias"]).toEqual([1]);
    expect(new ConvAutoencoder(new Random(1), 3).parameterCount()).toBe(1_378_657 + 2 * (2 * 32 * 16) + 2);
  });

  it("maps N×C×H×W to a code at 1/16 and a reconstruction of the input's shape", () => {
    const model = new ConvAutoencoder(new Random(2));
    trace(() => {
      bind(model);
      const x = T.input("x", [2, 1, 64, 48]);
      expect(model.encode(x).shape).toEqual([2, 256, 4, 3]);
      expect(model.forward(x).shape).toEqual([2, 1, 64, 48]);
      expect(() => model.forward(T.input("y", [2, 1, 40, 40]))).toThrow(/divisible by 16/);
    });
  });

  it("trains with Adam at 32×32: finite, decreasing loss and updated running statistics", async () => {
    const model = new ConvAutoencoder(new Random(3));
    const step = await compileStep({
      name: "ae",
      modules: [model],
      inputs: { images: { shape: [4, 1, 32, 32] } },
      build: ({ images: x }) => ({ loss: T.mean(T.square(T.sub(model.forward(x), x))) }),
      optimizer: new Adam({ lr: 1e-3 }),
    });
    const batch = images(5, 4, 1, 32);
    const runningMean = model.namedBuffers().find(([name]) => name === "encoder.3.running_mean")![1];
    const losses: number[] = [];
    for (let i = 0; i < 20; i++) losses.push((await step.run({ images: batch })).loss);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[19]).toBeLessThan(losses[0] * 0.8);
    expect(runningMean.value.some((v) => v !== 0)).toBe(true);
    await step.release();

    model.eval();
    const fn = await compileFunction({
      modules: [model],
      inputs: { images: { shape: [4, 1, 32, 32] } },
      build: ({ images: x }) => ({ recon: model.forward(x) }),
    });
    const { recon } = await fn.run({ images: batch });
    expect(recon.length).toBe(batch.length);
    await fn.release();
  });
});
