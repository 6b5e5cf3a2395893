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
import { beforeAll, describe, expect, it } from "vitest";
import { readSafetensors } from "../../src/engine/index.js";
import "../../src/methods/index.js";
import { generateDataset } from "../../src/synth/index.js";
import { train } from "../../src/train/trainer.js";
import { checkCliLifecycle, tempDir } from "../e2e/helpers.js";

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

  it("the CLI trains, tests, predicts, describes and exports the hash read to plain onnxruntime-node", async () => {
    const { info, onnx } = await checkCliLifecycle({
      method: "mamanet",
      data,
      trainArgs: ["--config", config, "--epochs", "1", "--batch-size", "4", "--image-size", String(SIZE)],
    });
    expect(info).toMatch(/"memorySize":50/);
    const onnxText = readFileSync(onnx).toString("latin1");
    for (const op of ["TopK", "Sign", "Gather", "MatMul"]) expect(onnxText).toContain(op);
  }, 240_000);
});
