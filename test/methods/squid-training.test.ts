/**
 * SQUID end to end on a tiny synthetic set: `train()` stores µ and σ of the discriminator logit in the
 * model directory (model.safetensors), a run resumed from its epoch checkpoint (two optimisers, queues,
 * batch-norm statistics) ends bit-identical to an uninterrupted one, and the built CLI trains, tests
 * and predicts with a `small` profile config.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readSafetensors } from "../../src/engine/index.js";
import "../../src/methods/index.js";
import { generateDataset } from "../../src/synth/index.js";
import { train } from "../../src/train/trainer.js";
import { checkCliLifecycle, tempDir } from "../e2e/helpers.js";

const trainArgs = ["--epochs", "1", "--batch-size", "4", "--image-size", "64"];

describe("SQUID training end to end", () => {
  let data: string;
  let config: string;

  beforeAll(async () => {
    data = join(tempDir("squid-data"), "synth");
    await generateDataset({ out: data, kind: "medical", nTrain: 12, nTest: 6, size: 64, seed: 5 });
    config = join(tempDir("squid-config"), "small.json");
    writeFileSync(config, JSON.stringify({ profile: "small", statsImages: 10 }));
  });

  it("train() stores the mean and std of the discriminator logit in model.safetensors", async () => {
    const out = tempDir("squid-model");
    const result = await train({
      data,
      method: "squid",
      config,
      epochs: 1,
      batchSize: 4,
      imageSize: 64,
      out,
      quiet: true,
    });
    expect(result.manifest.scoring.imageScore).toBe("method");
    const { tensors } = await readSafetensors(join(out, "model.safetensors"));
    const mean = tensors["discriminator.logit_mean"].data[0];
    const std = tensors["discriminator.logit_std"].data[0];
    expect(Number.isFinite(mean)).toBe(true);
    expect(mean).not.toBe(0);
    expect(std).toBeGreaterThan(0);
    expect(std).not.toBe(1);
    expect(tensors["generator.inpaint.memory.pointer"].data[0]).toBeGreaterThan(0);
  });

  it("resumes from an epoch checkpoint to the uninterrupted run's weights, queues, pointers and statistics", async () => {
    const common = { data, method: "squid", config, batchSize: 4, imageSize: 64, seed: 3, quiet: true };
    const straight = tempDir("squid-straight");
    await train({ ...common, epochs: 2, out: straight });
    const split = tempDir("squid-split");
    await train({ ...common, epochs: 1, out: split });
    await train({ ...common, epochs: 2, out: split, resume: true });
    const a = (await readSafetensors(join(straight, "model.safetensors"))).tensors;
    const b = (await readSafetensors(join(split, "model.safetensors"))).tensors;
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    expect(Object.keys(a).some((name) => name.endsWith("queue"))).toBe(true);
    for (const [name, t] of Object.entries(a))
      expect(Array.from(b[name].data), name).toEqual(Array.from(t.data));
  });

  it("the CLI trains, tests, predicts, describes and exports with --config small.json", async () => {
    const { model } = await checkCliLifecycle({
      method: "squid",
      data,
      trainArgs: [...trainArgs, "--config", config],
    });
    expect(existsSync(join(model, "model.safetensors"))).toBe(true);
  }, 240_000);
});
