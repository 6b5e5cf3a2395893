/**
 * DAAD end to end on a tiny synthetic industrial set (base width 4, 64 px): `train()` stores the score's
 * training statistics in model.safetensors; a run resumed from its epoch checkpoint (two optimisers,
 * batch-norm statistics) ends bit-identical to an uninterrupted one; the built CLI trains, tests,
 * predicts and exports, and the exported ONNX file run with plain onnxruntime-node gives predict's
 * scores and maps (with the latent map added to the pixel map).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readSafetensors } from "../../src/engine/index.js";
import "../../src/methods/index.js";
import { generateDataset } from "../../src/synth/index.js";
import { train } from "../../src/train/trainer.js";
import { checkCliLifecycle, tempDir } from "../e2e/helpers.js";

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

  it("the CLI trains, tests, predicts, describes and exports; plain onnxruntime-node gives predict's numbers", async () => {
    await checkCliLifecycle({
      method: "daad",
      data,
      trainArgs: ["--config", config, "--epochs", "1", "--batch-size", "4", "--image-size", `${SIZE}`],
    });
  });
});
