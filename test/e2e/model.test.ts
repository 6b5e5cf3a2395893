/**
 * Model directory and export equality: a saved and reloaded model scores exactly like the in-memory
 * one, and the exported ONNX file, run with plain onnxruntime-node, gives `predict`'s numbers. Also the
 * README's library example.
 */
import { join } from "node:path";
import ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { exportModel, loadModel, train } from "../../src/index.js";
import { getMethod, parseMethodConfig } from "../../src/methods/index.js";
import { MODEL_FORMAT_VERSION, type ModelManifest, saveModelDirectory } from "../../src/model/directory.js";
import { Scorer } from "../../src/score/scorer.js";
import { Random } from "../../src/util/random.js";
import { tempDir, tinyDataset } from "./helpers.js";

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

function randomImages(n: number, size: number, seed: number): Float32Array {
  const r = new Random(seed);
  return Float32Array.from({ length: n * size * size }, () => r.uniform());
}

describe("model directory", () => {
  it("loading gives the in-memory model's scores and maps (max abs difference <= 1e-6)", async () => {
    const method = getMethod("ae");
    const config = parseMethodConfig(method, {});
    const instance = method.create(config, { imageSize: 32, channels: 1, random: new Random(7) });
    const images = randomImages(8, 32, 1);
    for (let i = 0; i < 3; i++) {
      await instance.trainBatch(images, 8, { epoch: 0, epochs: 1, iteration: i, random: new Random(i) });
    }
    const scoring = method.scoring(config);
    const scorer = new Scorer(instance, scoring, 32, 1);
    const before = await scorer.scoreBatch(images, 8);
    const calibration = {
      imageThreshold: 0.1,
      imageMin: 0,
      imageMax: 1,
      pixelThreshold: 0.1,
      pixelMin: 0,
      pixelMax: 1,
    };
    const threshold = { threshold: 0.1, provenance: "test", rule: "percentile-normal-validation" as const };
    const manifest: ModelManifest = {
      format: "anomalyscope-model",
      formatVersion: MODEL_FORMAT_VERSION,
      packageVersion: "test",
      method: "ae",
      config: config as Record<string, unknown>,
      imageSize: 32,
      channels: 1,
      preprocessing: { resize: "cubic", centerCrop: false, range: "[0,1]" },
      scoring,
      calibration,
      thresholds: { image: threshold, pixel: threshold },
      training: {},
      validation: {},
    };
    const dir = tempDir("saved");
    await saveModelDirectory(dir, instance, manifest);
    await scorer.dispose();
    await instance.dispose();

    const loaded = await loadModel(dir);
    const after = await loaded.predictPreprocessed(images, 8);
    await loaded.close();
    expect(
      maxAbsDiff(
        before.scores,
        after.map((p) => p.score),
      ),
    ).toBeLessThanOrEqual(1e-6);
    for (let i = 0; i < 8; i++) {
      expect(maxAbsDiff(before.maps.subarray(i * 1024, (i + 1) * 1024), after[i].rawMap)).toBeLessThanOrEqual(
        1e-6,
      );
    }
  });
});

describe("export and library example", () => {
  let data: string;
  let modelDir: string;

  beforeAll(async () => {
    data = await tinyDataset();
    modelDir = join(tempDir("lib"), "model");
    // The README's library example, on tiny data.
    await train({ data, method: "ae", epochs: 1, batchSize: 8, imageSize: 32, out: modelDir, quiet: true });
  }, 120_000);

  it("the library example predicts a score, a normalised score, a label and a map", async () => {
    const model = await loadModel(modelDir);
    const result = await model.predict(join(data, "test/good/000.png"));
    await model.close();
    expect(Number.isFinite(result.score)).toBe(true);
    expect(result.normalizedScore).toBeGreaterThanOrEqual(0);
    expect(result.normalizedScore).toBeLessThanOrEqual(1);
    expect(typeof result.label).toBe("boolean");
    expect(result.anomalyMap).toHaveLength(32 * 32);
  });

  it("the exported ONNX file, run with plain onnxruntime-node, gives predict's numbers for any batch size", async () => {
    const file = join(tempDir("onnx"), "model.onnx");
    await exportModel(modelDir, file);
    const model = await loadModel(modelDir);
    const images = randomImages(3, 32, 5);
    const expected = await model.predictPreprocessed(images, 3);
    await model.close();
    const session = await ort.InferenceSession.create(file);
    expect(session.inputNames).toEqual(["input"]);
    for (const name of ["pred_score", "pred_label", "anomaly_map", "pred_mask"])
      expect(session.outputNames).toContain(name);
    const out = await session.run({ input: new ort.Tensor("float32", images, [3, 1, 32, 32]) });
    expect(out.anomaly_map.dims).toEqual([3, 1, 32, 32]);
    expect(
      maxAbsDiff(
        out.raw_score.data as Float32Array,
        expected.map((p) => p.score),
      ),
    ).toBeLessThanOrEqual(1e-6);
    expect(
      maxAbsDiff(
        out.pred_score.data as Float32Array,
        expected.map((p) => p.normalizedScore),
      ),
    ).toBeLessThanOrEqual(1e-6);
    expect(Array.from(out.pred_label.data as Uint8Array)).toEqual(expected.map((p) => (p.label ? 1 : 0)));
    for (let i = 0; i < 3; i++) {
      const map = (out.anomaly_map.data as Float32Array).subarray(i * 1024, (i + 1) * 1024);
      expect(maxAbsDiff(map, expected[i].anomalyMap)).toBeLessThanOrEqual(1e-6);
    }
    await session.release();
  });
});
