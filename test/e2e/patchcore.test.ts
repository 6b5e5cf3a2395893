/**
 * PatchCore through the CLI and the library like every other method: one training pass (`--epochs 2`
 * refused with a one-line error), the bank stored in model.safetensors with its fitted size and
 * loaded back, test with a report, predict, `info`, and export to one ONNX file that, run with plain
 * onnxruntime-node, gives `predict`'s numbers.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { readSafetensors } from "../../src/engine/index.js";
import { exportModel, loadModel } from "../../src/index.js";
import { Random } from "../../src/util/random.js";
import { expectOneLineError, runCli, tempDir, tinyDataset } from "./helpers.js";

const SIZE = 32;
let data: string;
let model: string;

beforeAll(async () => {
  data = await tinyDataset();
  model = join(tempDir("patchcore"), "m");
  const train = runCli([
    "train",
    "--data",
    data,
    "--method",
    "patchcore",
    "--epochs",
    "1",
    "--image-size",
    String(SIZE),
    "--out",
    model,
    "--quiet",
  ]);
  expect(train.stderr).toBe("");
  expect(train.status).toBe(0);
}, 180_000);

describe("patchcore end to end", () => {
  it("refuses more than one epoch in one line", () => {
    const r = runCli([
      "train",
      "--data",
      data,
      "--method",
      "patchcore",
      "--epochs",
      "2",
      "--out",
      join(tempDir("patchcore-epochs"), "m"),
    ]);
    expectOneLineError(r, /--epochs 2: patchcore builds its memory bank in one pass .*use --epochs 1/);
  });

  it("stores the coreset bank (10 % of the training patches) in model.safetensors", async () => {
    const manifest = JSON.parse(readFileSync(join(model, "anomalyscope.json"), "utf8"));
    const fit = manifest.training.history[0].losses;
    const { tensors } = await readSafetensors(join(model, "model.safetensors"));
    const bank = tensors["bank.features"];
    expect(fit.candidates).toBe(fit.images * (SIZE / 8) ** 2);
    expect(bank.shape).toEqual([Math.floor(0.1 * fit.candidates), 576]);
    expect(fit.bank_size).toBe(bank.shape[0]);
  });

  it("tests with a report, predicts, and is described by info --model", () => {
    const test = runCli(["test", "--model", model, "--data", data, "--out", tempDir("patchcore-report")]);
    expect(test.status).toBe(0);
    expect(test.stdout).toMatch(/image AUROC \d\.\d{4}/);
    const out = tempDir("patchcore-predict");
    const predict = runCli([
      "predict",
      "--model",
      model,
      "--out",
      out,
      "--format",
      "json",
      join(data, "test/good"),
    ]);
    expect(predict.status).toBe(0);
    const rows = JSON.parse(readFileSync(join(out, "predictions.json"), "utf8"));
    expect(rows.length).toBeGreaterThan(0);
    const info = runCli(["info", "--model", model]);
    expect(info.stdout).toMatch(/method: patchcore/);
    expect(info.stdout).toMatch(/"backbone":"mobilenet_v1_0.75"/);
  }, 120_000);

  it("exports backbone and bank to one ONNX file that gives predict's numbers in plain onnxruntime", async () => {
    const file = join(tempDir("patchcore-onnx"), "model.onnx");
    await exportModel(model, file);
    const { tensors } = await readSafetensors(join(model, "model.safetensors"));
    expect(statSync(file).size).toBeGreaterThan(4 * tensors["bank.features"].data.length);

    const loaded = await loadModel(model);
    const r = new Random(5);
    const images = Float32Array.from({ length: 2 * 3 * SIZE * SIZE }, () => r.uniform());
    const expected = await loaded.predictPreprocessed(images, 2);
    await loaded.close();
    const session = await ort.InferenceSession.create(file);
    const out = await session.run({ input: new ort.Tensor("float32", images, [2, 3, SIZE, SIZE]) });
    const scores = out.raw_score.data as Float32Array;
    expected.forEach((p, i) => {
      expect(p.score).toBeGreaterThan(0);
      expect(Math.abs(scores[i] - p.score)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(p.score)));
    });
    await session.release();
  }, 120_000);
});
