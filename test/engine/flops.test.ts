/**
 * FLOP counting: 2 × multiply-adds of Conv (incl. groups), ConvTranspose and batched MatMul, only for
 * nodes the outputs need; a compiled training step reports its count to observers.
 */
import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/api.js";
import { graphFlops } from "../../src/engine/flops.js";
import { trace } from "../../src/engine/ir.js";
import { Module } from "../../src/engine/module.js";
import { compileStep, observeCompiledSteps } from "../../src/engine/step.js";
import { SGD } from "../../src/nn/optim.js";

describe("graphFlops", () => {
  it("counts convolutions, transposed convolutions and matrix products that the outputs need", () => {
    const { graph, result } = trace(() => {
      const x = T.input("x", [2, 6, 9, 9]);
      const w = T.input("w", [4, 3, 3, 3]); // groups 2: 6 → 4 channels, 3 input channels per group
      const conv = T.emit("Conv", [x, w], {
        strides: [2, 2],
        pads: [1, 1, 1, 1],
        dilations: [1, 1],
        group: 2,
        kernel_shape: [3, 3],
      })[0]; // [2, 4, 5, 5]
      const wt = T.input("wt", [4, 5, 2, 2]);
      const up = T.emit("ConvTranspose", [conv, wt], {
        strides: [2, 2],
        pads: [0, 0, 0, 0],
        dilations: [1, 1],
        group: 1,
        kernel_shape: [2, 2],
      })[0]; // [2, 5, 10, 10]
      const a = T.input("a", [3, 7, 11]);
      const b = T.input("b", [3, 11, 13]);
      const product = T.matMul(a, b); // [3, 7, 13]
      const unused = T.matMul(b, T.input("c", [3, 13, 100]));
      return { up, product, unused };
    });
    const conv = 2 * 4 * 5 * 5 * (3 * 3 * 3);
    const transposed = 2 * 4 * 5 * 5 * (5 * 2 * 2);
    const matMul = 3 * 7 * 13 * 11;
    expect(graphFlops(graph, [result.up])).toBe(2 * (conv + transposed));
    expect(graphFlops(graph, [result.product])).toBe(2 * matMul);
    expect(graphFlops(graph, [result.up, result.product])).toBe(2 * (conv + transposed + matMul));
  });

  it("observers see each compiled training step: its name, forward + backward FLOPs and runs", async () => {
    class Linear extends Module {
      readonly weight = this.parameter("weight", [3, 5], new Float32Array(15).fill(0.1));
      forward(x: T.Tensor) {
        return T.matMul(x, this.use(this.weight));
      }
    }
    const model = new Linear();
    const seen: Array<{ name: string; flops: number; runs: () => number }> = [];
    const stop = observeCompiledSteps((s) =>
      seen.push({ name: s.name, flops: s.flops, runs: () => s.stepCount }),
    );
    const step = await compileStep({
      name: "linear",
      modules: [model],
      inputs: { x: { shape: [4, 3] } },
      build: ({ x }) => ({ loss: T.mean(T.square(model.forward(x))) }),
      optimizer: new SGD({ lr: 0.1 }),
    });
    stop();
    await step.run({ x: new Float32Array(12).fill(1) });
    await step.release();
    // forward x·W (4·5·3) and the weight gradient xᵀ·dy (3·5·4); no input gradient is needed
    expect(seen.map(({ name, flops }) => ({ name, flops }))).toEqual([
      { name: "linear", flops: 2 * (4 * 5 * 3 + 3 * 5 * 4) },
    ]);
    expect(seen[0].runs()).toBe(1);
  });
});
