/**
 * `export` writes the graph `predict` runs, batch-polymorphic (issue 23): for every method the e2e
 * tests export (ae, memae, squid, multiad, daad, mamanet; tiny configurations, one training batch so
 * that batch-norm statistics and method statistics are not at their initial values), the exported file
 *   - has the symbolic batch axis "N" on its input and no Scan (the old export wrapped a batch-1 trace
 *     in a Scan over the batch);
 *   - run with plain onnxruntime-node on a batch of 4 different images gives `predict`'s scores,
 *     normalised scores and maps (max |difference| ≤ 1e-5 · max |predict's value|), labels and masks
 *     (except images or pixels within that tolerance of the threshold), and on a batch of 1 the first
 *     image's numbers;
 *   - loads and runs in onnxruntime-web (wasm backend, single-threaded, wasm files from node_modules)
 *     with the same numbers.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import onnxProto from "onnx-proto";
import ort from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import { beforeAll, describe, expect, it } from "vitest";
import { exportModel, loadModel } from "../../src/index.js";
import { getMethod, parseMethodConfig } from "../../src/methods/index.js";
import { MODEL_FORMAT_VERSION, type ModelManifest, saveModelDirectory } from "../../src/model/directory.js";
import { Scorer } from "../../src/score/scorer.js";
import { Random } from "../../src/util/random.js";
import { tempDir } from "../e2e/helpers.js";

const BATCH = 4;

const cases: Array<{ method: string; config: object; imageSize: number }> = [
  { method: "ae", config: {}, imageSize: 32 },
  { method: "memae", config: { memorySize: 50 }, imageSize: 32 },
  {
    method: "squid",
    config: { profile: "small", baseWidth: 4, queueSlots: 5, decoderMemorySlots: 6 },
    imageSize: 64,
  },
  { method: "multiad", config: {}, imageSize: 32 },
  { method: "daad", config: { width: 4, memorySize: 8, reducedChannels: 2, latentMap: true }, imageSize: 64 },
  { method: "mamanet", config: { memorySize: 50, sinkhornIterations: 2 }, imageSize: 64 },
];

/** Different images: smooth random blobs on noise, one per item. */
function images(n: number, channels: number, size: number, seed: number): Float32Array {
  const r = new Random(seed);
  const out = new Float32Array(n * channels * size * size);
  for (let i = 0; i < n; i++) {
    const [cx, cy, radius] = [r.range(0.2, 0.8) * size, r.range(0.2, 0.8) * size, r.range(0.1, 0.3) * size];
    for (let c = 0; c < channels; c++)
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const inside = (x - cx) ** 2 + (y - cy) ** 2 < radius ** 2;
          out[((i * channels + c) * size + y) * size + x] = (inside ? 0.8 : 0.3) + 0.15 * r.uniform();
        }
  }
  return out;
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** max_i |actual_i − expected_i| / max_i |expected_i|. */
function relativeDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let d = 0;
  for (let i = 0; i < actual.length; i++) d = Math.max(d, Math.abs(actual[i] - expected[i]));
  return d / Math.max(maxAbs(expected), 1e-30);
}

interface Expected {
  scores: number[];
  normalizedScores: number[];
  labels: number[];
  maps: Float32Array;
  rawMaps: Float32Array;
  masks: Uint8Array;
  imageThreshold: number;
  pixelThreshold: number;
}

type Outputs = Record<string, { data: unknown; dims: readonly number[] }>;

function expectPredictNumbers(out: Outputs, expected: Expected, n: number, size: number): void {
  const plane = size * size;
  expect(out.anomaly_map.dims).toEqual([n, 1, size, size]);
  expect(out.raw_score.dims).toEqual([n]);
  const tolerance = 1e-5;
  expect(
    relativeDifference(out.raw_score.data as Float32Array, expected.scores.slice(0, n)),
  ).toBeLessThanOrEqual(tolerance);
  expect(
    relativeDifference(out.pred_score.data as Float32Array, expected.normalizedScores.slice(0, n)),
  ).toBeLessThanOrEqual(tolerance);
  const labels = out.pred_label.data as Uint8Array;
  const nearScore = tolerance * maxAbs(expected.scores);
  for (let i = 0; i < n; i++)
    if (labels[i] !== expected.labels[i])
      expect(Math.abs(expected.scores[i] - expected.imageThreshold)).toBeLessThanOrEqual(nearScore);
  expect(
    relativeDifference(out.anomaly_map.data as Float32Array, expected.maps.subarray(0, n * plane)),
  ).toBeLessThanOrEqual(tolerance);
  const masks = out.pred_mask.data as Uint8Array;
  const near = tolerance * maxAbs(expected.rawMaps);
  for (let i = 0; i < n * plane; i++)
    if (masks[i] !== expected.masks[i])
      expect(Math.abs(expected.rawMaps[i] - expected.pixelThreshold)).toBeLessThanOrEqual(near);
}

describe.each(cases)("export of $method", ({ method: name, config: rawConfig, imageSize }) => {
  let file: string;
  let expected: Expected;
  let batch: Float32Array;
  let channels: number;

  beforeAll(async () => {
    const method = getMethod(name);
    const config = parseMethodConfig(method, rawConfig);
    channels = method.channels(config, 1);
    const instance = method.create(config, { imageSize, channels, random: new Random(5) });
    await instance.trainBatch(images(BATCH, channels, imageSize, 1), BATCH, {
      epoch: 0,
      epochs: 1,
      iteration: 0,
      random: new Random(2),
    });
    batch = images(BATCH, channels, imageSize, 3);
    // Thresholds at the mean raw score and map value, so labels and masks take both values; the
    // normalisation ranges as wide as the values are large (an untrained model's four scores can lie
    // within 1e-6 of each other, and a range that narrow would magnify float rounding a million-fold).
    const scoring = method.scoring(config);
    const uncalibrated = new Scorer(instance, scoring, imageSize, channels);
    const raw = await uncalibrated.scoreBatch(batch, BATCH);
    await uncalibrated.dispose();
    const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
    const calibration = {
      imageThreshold: mean(raw.scores),
      imageMin: Math.min(...raw.scores) - maxAbs(raw.scores),
      imageMax: Math.max(...raw.scores) + maxAbs(raw.scores),
      pixelThreshold: mean(raw.maps),
      pixelMin: Math.min(...raw.maps) - maxAbs(raw.maps),
      pixelMax: Math.max(...raw.maps) + maxAbs(raw.maps),
    };
    const threshold = { threshold: 0, provenance: "test", rule: "percentile-normal-validation" as const };
    const manifest: ModelManifest = {
      format: "anomalyscope-model",
      formatVersion: MODEL_FORMAT_VERSION,
      packageVersion: "test",
      method: name,
      config: config as Record<string, unknown>,
      imageSize,
      channels,
      preprocessing: { resize: "cubic", centerCrop: false, range: "[0,1]" },
      scoring,
      calibration,
      thresholds: { image: threshold, pixel: threshold },
      training: {},
      validation: {},
    };
    const dir = tempDir(`export-${name}`);
    await saveModelDirectory(join(dir, "model"), instance, manifest);
    await instance.dispose();
    file = join(dir, "model.onnx");
    await exportModel(join(dir, "model"), file);

    const model = await loadModel(join(dir, "model"));
    const predictions = await model.predictPreprocessed(batch, BATCH);
    await model.close();
    const concat = <A extends Float32Array | Uint8Array>(parts: A[], make: (n: number) => A): A => {
      const out = make(parts.reduce((s, p) => s + p.length, 0));
      let offset = 0;
      for (const p of parts) {
        out.set(p, offset);
        offset += p.length;
      }
      return out;
    };
    expected = {
      scores: predictions.map((p) => p.score),
      normalizedScores: predictions.map((p) => p.normalizedScore),
      labels: predictions.map((p) => (p.label ? 1 : 0)),
      maps: concat(
        predictions.map((p) => p.anomalyMap),
        (n) => new Float32Array(n),
      ),
      rawMaps: concat(
        predictions.map((p) => p.rawMap),
        (n) => new Float32Array(n),
      ),
      masks: concat(
        predictions.map((p) => p.mask),
        (n) => new Uint8Array(n),
      ),
      imageThreshold: calibration.imageThreshold,
      pixelThreshold: calibration.pixelThreshold,
    };
    expect(new Set(expected.labels).size, "labels take both values").toBe(2);
  }, 120_000);

  it("has a symbolic batch axis and no Scan", () => {
    const model = onnxProto.onnx.ModelProto.decode(readFileSync(file));
    const graph = model.graph!;
    expect(graph.node!.map((n) => n.opType)).not.toContain("Scan");
    expect(graph.input!.map((i) => i.name)).toEqual(["input"]);
    expect(graph.input![0].type!.tensorType!.shape!.dim![0].dimParam).toBe("N");
    for (const output of graph.output!) expect(output.type!.tensorType!.shape!.dim![0].dimParam).toBe("N");
  });

  it("gives predict's numbers in plain onnxruntime-node on a batch of 4 and a batch of 1", async () => {
    const session = await ort.InferenceSession.create(file);
    const run = async (n: number) =>
      (await session.run({
        input: new ort.Tensor("float32", batch.subarray(0, n * channels * imageSize ** 2), [
          n,
          channels,
          imageSize,
          imageSize,
        ]),
      })) as unknown as Outputs;
    expectPredictNumbers(await run(BATCH), expected, BATCH, imageSize);
    expectPredictNumbers(await run(1), expected, 1, imageSize);
    await session.release();
  });

  it("loads and runs in onnxruntime-web (wasm) with predict's numbers", async () => {
    ortWeb.env.wasm.numThreads = 1;
    ortWeb.env.wasm.wasmPaths = `${dirname(createRequire(import.meta.url).resolve("onnxruntime-web"))}/`;
    const session = await ortWeb.InferenceSession.create(readFileSync(file), {
      executionProviders: ["wasm"],
    });
    const out = await session.run({
      input: new ortWeb.Tensor("float32", batch, [BATCH, channels, imageSize, imageSize]),
    });
    expectPredictNumbers(out as unknown as Outputs, expected, BATCH, imageSize);
    await session.release();
  });
});
