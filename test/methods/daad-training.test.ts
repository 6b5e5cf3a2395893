/**
 * DAAD end to end on a tiny synthetic industrial set (base width 4, 64 px): `train()` stores the score's
 * training statistics in model.safetensors; a run resumed from its epoch checkpoint (two optimisers,
 * batch-norm statistics) ends bit-identical to an uninterrupted one; the built CLI trains, tests,
 * predicts and exports, and the exported ONNX file run with plain onnxruntime-node gives predict's
 * scores and maps (with the latent map added to the pixel map). The statistics belong to the weights
 * they are saved with: `refitTrainingStatistics` restores them for weights taken from a checkpoint, and
 * `--select` ranks epochs by the standardised score of each epoch's own statistics.
 */
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadDataset } from "../../src/data/index.js";
import { readSafetensors, writeSafetensors } from "../../src/engine/index.js";
import "../../src/methods/index.js";
import { loadModel } from "../../src/model/directory.js";
import { Scorer, scoreSamples } from "../../src/score/scorer.js";
import { generateDataset } from "../../src/synth/index.js";
import { refitTrainingStatistics, train } from "../../src/train/trainer.js";
import { checkCliLifecycle, tempDir } from "../e2e/helpers.js";

const SIZE = 64;

describe("DAAD training end to end", () => {
  let data: string;
  let config: string;
  /** The train() options every run here shares. */
  const tiny = () => ({ data, method: "daad", config, batchSize: 4, imageSize: SIZE, quiet: true });

  beforeAll(async () => {
    data = join(tempDir("daad-data"), "synth");
    await generateDataset({ out: data, kind: "industrial", nTrain: 12, nTest: 6, size: SIZE, seed: 5 });
    config = join(tempDir("daad-config"), "tiny.json");
    writeFileSync(config, JSON.stringify({ width: 4, memorySize: 8, reducedChannels: 2, latentMap: true }));
  });

  it("train() stores the training statistics of the score, and resumes to the uninterrupted run's state", async () => {
    const common = { ...tiny(), seed: 3 };
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

  it("refitTrainingStatistics gives weights with untrained statistics exactly the statistics training saved", async () => {
    const trained = tempDir("daad-trained");
    await train({ ...tiny(), seed: 4, epochs: 1, out: trained });
    const saved = (await readSafetensors(join(trained, "model.safetensors"))).tensors;
    const copy = tempDir("daad-refit");
    cpSync(trained, copy, { recursive: true });
    const untrained = Object.fromEntries(
      Object.entries(saved).map(([name, t]) => [
        name,
        name.startsWith("statistics.")
          ? { shape: t.shape, data: Float32Array.of(name.endsWith("_std") ? 1 : 0) }
          : t,
      ]),
    );
    await writeSafetensors(join(copy, "model.safetensors"), untrained);
    expect(await refitTrainingStatistics(copy, data)).toBe(true);
    const refitted = (await readSafetensors(join(copy, "model.safetensors"))).tensors;
    for (const [name, t] of Object.entries(saved))
      expect(Array.from(refitted[name].data), name).toEqual(Array.from(t.data));
  });

  it("--select ranks epochs by the standardised score: the selected epoch's validation score is the saved model's", async () => {
    const out = tempDir("daad-select");
    const result = await train({ ...tiny(), seed: 6, epochs: 3, out, select: "synthetic" });
    const selected = result.manifest.selection?.selectedEpoch ?? 0;
    const recorded = result.history[selected - 1].validationNormalScore;
    const { manifest, instance } = await loadModel(out);
    const scorer = new Scorer(instance, manifest.scoring, SIZE, manifest.channels);
    const dataset = await loadDataset(data, { seed: 6 });
    const normal: number[] = [];
    await scoreSamples(scorer, dataset.validation, { batchSize: 4, withMasks: false }, (r) => {
      if (r.sample.label === 0) normal.push(r.score);
    });
    await scorer.dispose();
    await instance.dispose();
    expect(normal.length).toBeGreaterThan(0);
    const mean = normal.reduce((a, b) => a + b, 0) / normal.length;
    expect(recorded).toBeCloseTo(mean, 4);
  });

  it("the CLI trains, tests, predicts, describes and exports; plain onnxruntime-node gives predict's numbers", async () => {
    await checkCliLifecycle({
      method: "daad",
      data,
      trainArgs: ["--config", config, "--epochs", "1", "--batch-size", "4", "--image-size", `${SIZE}`],
    });
  });
});
