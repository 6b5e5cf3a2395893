/**
 * Correctness guards of the training step and the frozen inference function (issue 23):
 * - a finite loss whose gradient is NaN (the square root of a zero norm) commits nothing — parameters,
 *   buffers, Adam moments and the step count stay as they were — and the error names the parameter;
 * - every write into a parameter bumps its version: a frozen inference function compiled before
 *   weights are loaded from a safetensors file runs the loaded weights, and no source file writes
 *   into a parameter's array in place (which would bypass the version).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/api.js";
import { NonFiniteError } from "../../src/engine/errors.js";
import { bind } from "../../src/engine/module.js";
import { loadSafetensors, saveSafetensors } from "../../src/engine/safetensors.js";
import { compileFunction, compileStep } from "../../src/engine/step.js";
import { ConvAutoencoder } from "../../src/methods/ae/network.js";
import { Adam } from "../../src/nn/optim.js";
import { Random } from "../../src/util/random.js";
import { tempDir } from "../e2e/helpers.js";
import { images, SmallAE } from "./step-model.js";

const N = 2;
const SIZE = 8;

describe("non-finite gradients", () => {
  it("a finite loss with a NaN gradient changes no parameter, buffer or moment and names the parameter", async () => {
    const model = new SmallAE(3);
    // The reconstruction loss plus the norm of the encoder weight scaled by `gate`: at gate 0 the norm
    // is sqrt(0) = 0 (finite loss) and its gradient 0·(1/(2·sqrt(0))) is NaN.
    const step = await compileStep({
      name: "guarded",
      modules: [model],
      inputs: { images: { shape: [N, 1, SIZE, SIZE] }, gate: { shape: [] } },
      build: ({ images: x, gate }) => {
        const scaled = T.mul(bind(model).tensors.get(model.encoderWeight)!, gate);
        const norm = T.sqrt(T.sum(T.square(scaled)));
        return { loss: T.add(model.loss(x).loss, T.mul(norm, 1e-3)) };
      },
      optimizer: new Adam({ lr: 1e-2 }),
    });
    const batch = images(11, N, 1, SIZE);
    const open = Float32Array.of(1);
    const closed = Float32Array.of(0);
    await step.run({ images: batch, gate: open });
    await step.run({ images: batch, gate: open });
    const arrays = model.namedState().map(([, p]) => p.value);
    const values = arrays.map((a) => a.slice());
    const moments = step.optimizerState();

    const failed = step.run({ images: batch, gate: closed });
    await expect(failed).rejects.toBeInstanceOf(NonFiniteError);
    await expect(failed).rejects.toThrow(/gradient of "encoder\.weight" in step "guarded" is not finite/);
    model.namedState().forEach(([, p], k) => {
      expect(p.value).toBe(arrays[k]);
      expect(p.value).toEqual(values[k]);
    });
    expect(step.optimizerState()).toEqual(moments);
    expect(step.stepCount).toBe(2);

    const { loss } = await step.run({ images: batch, gate: open });
    expect(Number.isFinite(loss)).toBe(true);
    expect(step.stepCount).toBe(3);
    for (const [, p] of model.namedState()) expect(p.value.every(Number.isFinite)).toBe(true);
    await step.release();
  });
});

describe("parameter versions", () => {
  it("a frozen function compiled before loading weights from a file runs the loaded weights", async () => {
    const trained = new ConvAutoencoder(new Random(21));
    for (const [, p] of trained.namedState()) p.value = p.value.map((v, i) => v + 0.05 * ((i % 7) - 3));
    const file = join(tempDir("versions"), "weights.safetensors");
    await saveSafetensors(file, trained);

    const model = new ConvAutoencoder(new Random(22)).eval();
    trained.eval();
    const images = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => ((i * 29) % 89) / 89);
    const options = (m: ConvAutoencoder) => ({
      modules: [m],
      inputs: { images: { shape: [3, 1, 32, 32] } },
      build: ({ images: x }: { images: T.Tensor }) => ({ y: m.forward(x) }),
    });
    const frozen = await compileFunction(options(model));
    expect(frozen.frozen).toBe(true);
    const before = (await frozen.run({ images })).y as Float32Array;

    await loadSafetensors(file, model);
    const reference = await compileFunction(options(trained));
    const expected = (await reference.run({ images })).y as Float32Array;
    const after = (await frozen.run({ images })).y as Float32Array;
    expect(maxDiff(before, expected)).toBeGreaterThan(1e-3);
    expect(maxDiff(after, expected)).toBeLessThan(1e-6);
    await frozen.release();
    await reference.release();
  });

  it("no source file writes into a parameter's array in place (every write goes through Parameter)", () => {
    const inPlace = /\.value\.(set|fill|copyWithin|reverse|sort)\(|\.value\[[^\]]+\]\s*[-+*/]?=[^=]/;
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (path.endsWith(".ts"))
          readFileSync(path, "utf8")
            .split("\n")
            .forEach((line, i) => {
              if (inPlace.test(line)) offenders.push(`${path}:${i + 1}: ${line.trim()}`);
            });
      }
    };
    walk("src");
    expect(offenders).toEqual([]);
  });
});

function maxDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}
