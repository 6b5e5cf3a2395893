/**
 * Correctness guards of the training step and the frozen inference function (issue 23):
 * - a finite loss whose gradient is NaN (the square root of a zero norm) commits nothing — parameters,
 *   buffers, Adam moments and the step count stay as they were — and the error names the parameter;
 */
import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/api.js";
import { NonFiniteError } from "../../src/engine/errors.js";
import { bind } from "../../src/engine/module.js";
import { compileStep } from "../../src/engine/step.js";
import { Adam } from "../../src/nn/optim.js";
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
