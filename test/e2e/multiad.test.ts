/**
 * Multi-AD through the CLI and the library like every other method: train (grayscale data replicated
 * to 3 channels), test with a report, predict, `info`, and export to one ONNX file that holds the
 * teacher and the student and, run with plain onnxruntime-node, gives `predict`'s numbers.
 */
import { statSync } from "node:fs";
import { expect, it } from "vitest";
import { loadBackbone } from "../../src/nn/backbones/index.js";
import { checkCliLifecycle, tinyDataset } from "./helpers.js";

it("multiad trains, tests, predicts, is described, and exports teacher and student to one ONNX file", async () => {
  const { info, onnx } = await checkCliLifecycle({
    method: "multiad",
    data: await tinyDataset(),
    trainArgs: ["--epochs", "1", "--batch-size", "8", "--image-size", "32"],
  });
  expect(info).toMatch(/"teacher":"mobilenet_v1_0.75"/);
  const teacherBytes = loadBackbone("mobilenet_v1_0.75")
    .namedState()
    .filter(([name]) => name.startsWith("conv_pw_") || name.startsWith("conv_dw_"))
    .reduce((a, [, p]) => a + 4 * p.size, 0);
  expect(statSync(onnx).size).toBeGreaterThan(teacherBytes);
}, 240_000);
