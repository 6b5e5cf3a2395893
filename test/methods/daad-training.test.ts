/**
 * DAAD end to end on a tiny synthetic industrial set (base width 4, 64 px): `train()` stores the score's
 * training statistics in model.safetensors; a run resumed from its epoch checkpoint (two optimisers,
 * batch-norm statistics) ends bit-identical to an uninterrupted one; the built CLI trains, tests,
 * predicts and exports, and the exported ONNX file run with plain onnxruntime-node gives predict's
 * scores and maps (with the latent map added to the pixel map).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
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

describe("DAAD training end to end", () => {
  let data: string;
  let config: string;

  beforeAll(async () => {
    data = join(tempDir("daad-data"), "synth");
    await generateDataset({ out: data, kind: "industrial", nTrain: 12, nTest: 6, size: SIZE, seed: 5 });
    config = join(tempDir("daad-config"), "tiny.json");
    writeFileSync(config, JSON.stringify({ width: 4, memorySize: 8, reducedChannels: 2, latentMap: true }));
  });

  it("train() stores the training statistics of the score, and resumes to the uninterrupted run's state", async () => {
    const common = { data, method: "daad", config, batchSize: 4, imageSize: SIZE, seed: 3, quiet: true };
    const straight = tempDir("daad-straight");
    const result = await train({ ...common, epochs: 2, out: straight });
    expect(result.manifest.scoring.imageScore).toBe("method");
    const a = (await readSafetensors(join(straight, "model.safetensors"))).tensors;
    for (const name of ["reconstruction", "latent", "pixel_map", "latent_map"]) {
      expect(a[`statistics.${name}_mean`].data[0], name).not.toBe(0);
      expect(a[`statistics.${name}_std`].data[0], name).toBeGreaterThan(0);
      expect(a[`statistics.${name}_std`].data[0], name).not.toBe(1);
    }
    const split = tempDir("daad-split");
    await train({ ...common, epochs: 1, out: split });
    await train({ ...common, epochs: 2, out: split, resume: true });
    const b = (await readSafetensors(join(split, "model.safetensors"))).tensors;
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const [name, t] of Object.entries(a))
      expect(Array.from(b[name].data), name).toEqual(Array.from(t.data));
  });

  it("the CLI trains, tests, predicts and exports; plain onnxruntime-node gives predict's numbers", async () => {
    const model = tempDir("daad-cli-model");
    const args = ["--method", "daad", "--config", config, "--epochs", "1", "--batch-size", "4"];
    const trained = runCli([
      "train",
      "--data",
      data,
      ...args,
      "--image-size",
      `${SIZE}`,
      "--quiet",
      "--out",
      model,
    ]);
    expect(trained.stderr).toBe("");
    expect(trained.status).toBe(0);

    const report = tempDir("daad-cli-test");
    expect(runCli(["test", "--model", model, "--data", data, "--out", report]).status).toBe(0);
    expect(readFileSync(join(report, "metrics.json"), "utf8")).toMatch(/auroc/i);

    const predictions = tempDir("daad-cli-predict");
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

    const file = join(tempDir("daad-onnx"), "model.onnx");
    expect(runCli(["export", "--model", model, "--out", file]).status).toBe(0);
    expect(existsSync(file)).toBe(true);
    const random = new Random(9);
    const images = Float32Array.from({ length: 2 * 3 * SIZE * SIZE }, () => random.uniform());
    const loaded = await loadModel(model);
    const expected = await loaded.predictPreprocessed(images, 2);
    await loaded.close();
    const session = await ort.InferenceSession.create(file);
    const out = await session.run({ input: new ort.Tensor("float32", images, [2, 3, SIZE, SIZE]) });
    await session.release();
    const scores = out.raw_score.data as Float32Array;
    const maps = out.anomaly_map.data as Float32Array;
    for (let i = 0; i < 2; i++) {
      expect(Math.abs(scores[i] - expected[i].score)).toBeLessThanOrEqual(
        1e-4 * Math.max(1, Math.abs(scores[i])),
      );
      const map = maps.subarray(i * SIZE * SIZE, (i + 1) * SIZE * SIZE);
      let diff = 0;
      for (let k = 0; k < map.length; k++)
        diff = Math.max(diff, Math.abs(map[k] - expected[i].anomalyMap[k]));
      expect(diff).toBeLessThanOrEqual(1e-4);
    }
  });
});
