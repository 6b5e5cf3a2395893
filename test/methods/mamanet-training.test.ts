/**
 * MAMA Net end to end on a tiny synthetic set (64 px, a 50-row memory and 2 Sinkhorn iterations to keep
 * CI fast; every mechanism is the default one): a run resumed from its epoch checkpoint ends
 * bit-identical to an uninterrupted one (weights, BN statistics, the hash projection, Adam moments
 * through the weights); the built CLI trains, tests, predicts, describes and exports the model, and the
 * exported ONNX graph (hash read included: MatMul, Sign, TopK, Gather) run in plain onnxruntime-node
 * gives predict's scores, labels and maps.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { readSafetensors } from "../../src/engine/index.js";
import { loadModel } from "../../src/index.js";
import "../../src/methods/index.js";
import { generateDataset } from "../../src/synth/index.js";
import { train } from "../../src/train/trainer.js";
import { Random } from "../../src/util/random.js";
import { runCli, tempDir } from "../e2e/helpers.js";

const SIZE = 64;

describe("MAMA Net end to end", () => {
  let data: string;
  let config: string;

  beforeAll(async () => {
    data = join(tempDir("mamanet-data"), "synth");
    await generateDataset({ out: data, kind: "medical", nTrain: 12, nTest: 6, size: SIZE, seed: 5 });
    config = join(tempDir("mamanet-config"), "small.json");
    writeFileSync(config, JSON.stringify({ memorySize: 50, sinkhornIterations: 2 }));
  });

  it("resumes from an epoch checkpoint to the uninterrupted run's weights and buffers", async () => {
    const common = { data, method: "mamanet", config, batchSize: 4, imageSize: SIZE, seed: 3, quiet: true };
    const straight = tempDir("mamanet-straight");
    await train({ ...common, epochs: 2, out: straight });
    const split = tempDir("mamanet-split");
    await train({ ...common, epochs: 1, out: split });
    await train({ ...common, epochs: 2, out: split, resume: true });
    const a = (await readSafetensors(join(straight, "model.safetensors"))).tensors;
    const b = (await readSafetensors(join(split, "model.safetensors"))).tensors;
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    expect(Object.keys(a)).toContain("mamanet.memory.projection");
    for (const [name, t] of Object.entries(a))
      expect(Array.from(b[name].data), name).toEqual(Array.from(t.data));
  }, 240_000);

  it("the CLI trains, tests, predicts and describes; the exported ONNX graph gives predict's numbers", async () => {
    const model = tempDir("mamanet-cli-model");
    const trained = runCli([
      "train",
      "--data",
      data,
      "--method",
      "mamanet",
      "--config",
      config,
      "--epochs",
      "1",
      "--batch-size",
      "4",
      "--image-size",
      String(SIZE),
      "--out",
      model,
      "--quiet",
    ]);
    expect(trained.stderr).toBe("");
    expect(trained.status).toBe(0);

    const report = tempDir("mamanet-cli-test");
    const tested = runCli(["test", "--model", model, "--data", data, "--out", report]);
    expect(tested.status).toBe(0);
    expect(tested.stdout).toMatch(/image AUROC \d\.\d{4}/);
    expect(JSON.stringify(JSON.parse(readFileSync(join(report, "metrics.json"), "utf8")))).toMatch(/auroc/i);

    const predictions = tempDir("mamanet-cli-predict");
    const predicted = runCli([
      "predict",
      "--model",
      model,
      "--out",
      predictions,
      "--format",
      "json",
      join(data, "test/good"),
    ]);
    expect(predicted.status).toBe(0);
    const rows = JSON.parse(readFileSync(join(predictions, "predictions.json"), "utf8"));
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(Number.isFinite(row.score)).toBe(true);

    const info = runCli(["info", "--model", model]);
    expect(info.stdout).toMatch(/method: mamanet/);
    expect(info.stdout).toMatch(/"memorySize":50/);

    const file = join(tempDir("mamanet-onnx"), "model.onnx");
    expect(runCli(["export", "--model", model, "--out", file]).status).toBe(0);
    const onnxText = readFileSync(file).toString("latin1");
    for (const op of ["TopK", "Sign", "Gather", "MatMul"]) expect(onnxText).toContain(op);
    const random = new Random(9);
    const images = Float32Array.from({ length: 3 * SIZE * SIZE }, () => random.uniform());
    const loaded = await loadModel(model);
    const expected = await loaded.predictPreprocessed(images, 3);
    await loaded.close();
    const session = await ort.InferenceSession.create(file);
    const out = await session.run({ input: new ort.Tensor("float32", images, [3, 1, SIZE, SIZE]) });
    await session.release();
    const scores = out.raw_score.data as Float32Array;
    for (let i = 0; i < 3; i++) {
      expect(Math.abs(scores[i] - expected[i].score)).toBeLessThanOrEqual(1e-6);
      expect(Boolean((out.pred_label.data as Uint8Array)[i])).toBe(expected[i].label);
      const map = (out.anomaly_map.data as Float32Array).subarray(i * SIZE * SIZE, (i + 1) * SIZE * SIZE);
      let diff = 0;
      for (let j = 0; j < map.length; j++)
        diff = Math.max(diff, Math.abs(map[j] - expected[i].anomalyMap[j]));
      expect(diff).toBeLessThanOrEqual(1e-6);
    }
  }, 240_000);
});
