/**
 * Frozen inference functions (`FunctionOptions.frozen`): the weights embedded as initializers, batch
 * norm after a ConvTranspose folded into it (fold.ts), give the outputs of the same function with the
 * weights fed; a replaced parameter array, or values assigned to it, recompile.
 */
import { describe, expect, it } from "vitest";
import { compileFunction, compileStep } from "../../src/engine/step.js";
import { ConvAutoencoder } from "../../src/methods/ae/network.js";
import { mse } from "../../src/nn/losses.js";
import { Adam } from "../../src/nn/optim.js";
import { Random } from "../../src/util/random.js";

function maxDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe("frozen inference functions", () => {
  it("equal the fed function and follow replaced and assigned parameters", async () => {
    const model = new ConvAutoencoder(new Random(3));
    // Non-trivial running statistics so that the folded batch norms matter.
    for (const [, p] of model.namedBuffers()) p.value = p.value.map((v, i) => v + 0.1 * ((i % 5) - 2) ** 2);
    model.eval();
    const images = Float32Array.from({ length: 2 * 32 * 32 }, (_, i) => ((i * 37) % 101) / 101);
    const options = {
      modules: [model],
      inputs: { images: { shape: [2, 1, 32, 32] } },
      build: ({ images }: { images: import("../../src/engine/ir.js").Tensor }) => ({
        y: model.forward(images),
      }),
    };
    const fed = await compileFunction({ ...options, frozen: false });
    const frozen = await compileFunction(options);
    expect(frozen.frozen).toBe(true);
    const compare = async () =>
      maxDiff(
        (await fed.run({ images })).y as Float32Array,
        (await frozen.run({ images })).y as Float32Array,
      );
    expect(await compare()).toBeLessThan(1e-6);

    const [, weight] = model.namedParameters()[0];
    weight.value = weight.value.map((v) => v * 1.5);
    expect(await compare()).toBeLessThan(1e-6);

    const [, runningMean] = model.namedBuffers().at(-2)!;
    runningMean.assign(runningMean.value.map((v) => v + 5));
    // The untrained network is nearly constant, so a stale batch norm would change the output by ~1e-4.
    expect(await compare()).toBeLessThan(1e-6);
    await fed.release();
    await frozen.release();
  });

  it("see the weights of training steps that kept the arrays (in-place updates, two buffer swaps)", async () => {
    const model = new ConvAutoencoder(new Random(4));
    const images = Float32Array.from({ length: 2 * 32 * 32 }, (_, i) => ((i * 53) % 97) / 97);
    const step = await compileStep({
      name: "ae",
      modules: [model],
      inputs: { images: { shape: [2, 1, 32, 32] } },
      build: ({ images: x }) => ({ loss: mse(model.forward(x), x) }),
      optimizer: new Adam({ lr: 1e-2 }),
    });
    const arrays = model.namedState().map(([, p]) => p.value);
    model.eval();
    const build = ({ images: x }: { images: import("../../src/engine/ir.js").Tensor }) => ({
      y: model.forward(x),
    });
    const scorer = await compileFunction({
      modules: [model],
      inputs: { images: { shape: [2, 1, 32, 32] } },
      build,
    });
    const before = (await scorer.run({ images })).y as Float32Array;
    model.train();
    await step.run({ images });
    await step.run({ images });
    model.eval();
    expect(model.namedState().every(([, p], i) => p.value === arrays[i])).toBe(true);
    const after = (await scorer.run({ images })).y as Float32Array;
    const fresh = await compileFunction({
      modules: [model],
      inputs: { images: { shape: [2, 1, 32, 32] } },
      build,
    });
    const expected = (await fresh.run({ images })).y as Float32Array;
    expect(maxDiff(before, after)).toBeGreaterThan(1e-4);
    expect(maxDiff(after, expected)).toBeLessThan(1e-6);
    await Promise.all([scorer.release(), fresh.release(), step.release()]);
  });
});
