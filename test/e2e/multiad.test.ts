/**
 * Multi-AD through the CLI and the library like every other method: train (grayscale data replicated
 * to 3 channels), test with a report, `info`, and export to one ONNX file that holds the teacher and
 * the student and, run with plain onnxruntime-node, gives `predict`'s numbers.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { exportModel, loadModel } from "../../src/index.js";
import { loadBackbone } from "../../src/nn/backbones/index.js";
import { Random } from "../../src/util/random.js";
import { runCli, tempDir, tinyDataset } from "./helpers.js";

let data: string;
let model: string;

beforeAll(async () => {
  data = await tinyDataset();
  model = join(tempDir("multiad"), "m");
  const train = runCli([
    "train",
    "--data",
    data,
    "--method",
    "multiad",
    "--epochs",
    "1",
    "--batch-size",
    "8",
    "--image-size",
    "32",
    "--out",
    model,
    "--quiet",
  ]);
  expect(train.stderr).toBe("");
  expect(train.status).toBe(0);
}, 180_000);

describe("multiad end to end", () => {
  it("tests with a report and is described by info --model", () => {
    const test = runCli(["test", "--model", model, "--data", data, "--out", tempDir("multiad-report")]);
    expect(test.status).toBe(0);
    expect(test.stdout).toMatch(/image AUROC \d\.\d{4}/);
    const info = runCli(["info", "--model", model]);
    expect(info.stdout).toMatch(/method: multiad/);
    expect(info.stdout).toMatch(/"teacher":"mobilenet_v1_0.75"/);
  }, 120_000);

  it("exports teacher and student to one ONNX file that gives predict's numbers in plain onnxruntime", async () => {
    const file = join(tempDir("multiad-onnx"), "model.onnx");
    await exportModel(model, file);
    const teacherBytes = loadBackbone("mobilenet_v1_0.75")
      .namedState()
      .filter(([name]) => name.startsWith("conv_pw_") || name.startsWith("conv_dw_"))
      .reduce((a, [, p]) => a + 4 * p.size, 0);
    expect(statSync(file).size).toBeGreaterThan(teacherBytes);

    const loaded = await loadModel(model);
    const r = new Random(5);
    const images = Float32Array.from({ length: 2 * 3 * 32 * 32 }, () => r.uniform());
    const expected = await loaded.predictPreprocessed(images, 2);
    await loaded.close();
    const session = await ort.InferenceSession.create(file);
    const out = await session.run({ input: new ort.Tensor("float32", images, [2, 3, 32, 32]) });
    const scores = out.raw_score.data as Float32Array;
    expected.forEach((p, i) => {
      expect(Math.abs(scores[i] - p.score)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(p.score)));
    });
    await session.release();
  }, 120_000);
});
