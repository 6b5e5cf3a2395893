/**
 * Memory: after a warm-up, 200 training steps do not grow the resident set (parameters and moments
 * are updated in place, buffers double-buffered, and nothing native is leaked per run). Runs in its
 * own test file so other tests' allocations do not disturb the measurement; garbage is collected
 * before each reading (the ONNX Runtime binding returns each output, the gradients among them, in a
 * fresh ArrayBuffer, which is garbage, not growth).
 */
import v8 from "node:v8";
import vm from "node:vm";
import { expect, it } from "vitest";
import { compileStep } from "../../src/engine/step.js";
import { Adam } from "../../src/nn/optim.js";
import { images, SmallAE } from "./step-model.js";

v8.setFlagsFromString("--expose-gc");
const collectGarbage = vm.runInNewContext("gc") as () => void;

function residentMegabytes(): number {
  collectGarbage();
  return process.memoryUsage().rss / 2 ** 20;
}

it("RSS does not grow over 200 steps after a warm-up", async () => {
  const model = new SmallAE(1, 1, 16);
  const step = await compileStep({
    name: "ae",
    modules: [model],
    inputs: { images: { shape: [8, 1, 32, 32] } },
    build: ({ images: x }) => {
      const { loss, recon } = model.loss(x);
      return { loss, extraOutputs: { recon } };
    },
    optimizer: new Adam({ lr: 1e-3 }),
  });
  const batch = images(1, 8, 1, 32);
  for (let i = 0; i < 200; i++) await step.run({ images: batch });
  const before = residentMegabytes();
  for (let i = 0; i < 200; i++) await step.run({ images: batch });
  const growth = residentMegabytes() - before;
  expect(growth, `RSS grew by ${growth.toFixed(1)} MB`).toBeLessThan(20);
  await step.release();
});
