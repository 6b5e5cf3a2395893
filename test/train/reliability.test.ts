/**
 * Trainer faults and limits (issue 24), through the library:
 * - a non-finite validation score stops the run the epoch it appears, and the kept checkpoint is the
 *   last one whose loss and validation were finite (a test-only method whose scale turns NaN);
 * - a NaN gradient under a finite loss stops the run at that step, naming the parameter, and the kept
 *   checkpoint is that of the previous epoch (a test-only method with a real Adam step);
 * - a run that fails before its first checkpoint leaves no `out` folder;
 * - a training set smaller than the batch size trains on one batch of the whole set (SQUID, the
 *   reported case), recording the batch size used;
 * - the memory estimate: extrapolation in the area from two small traces agrees with a direct trace,
 *   activations grow linearly with the batch, and training needs more than scoring.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import * as T from "../../src/engine/index.js";
import { Module, ModuleGroup, readSafetensors, type Tensor } from "../../src/engine/index.js";
import type { MethodDefinition } from "../../src/methods/contract.js";
import "../../src/methods/index.js";
import { estimateMemory } from "../../src/methods/memory.js";
import { getMethod, parseMethodConfig, registerMethod } from "../../src/methods/registry.js";
import { Adam } from "../../src/nn/optim.js";
import { generateDataset } from "../../src/synth/index.js";
import { TrainingDivergedError, train } from "../../src/train/trainer.js";
import { tempDir, tinyDataset } from "../e2e/helpers.js";

class Scale extends Module {
  readonly weight = this.parameter("weight", [1], new Float32Array([1]));
  forward(x: Tensor): Tensor {
    return T.mul(x, this.use(this.weight));
  }
}

const poisonConfig = z.object({ poisonEpoch: z.number().int().default(1) }).strict();

/** Finite losses always; from `poisonEpoch` on, its only weight is NaN, so validation scores are NaN. */
const poisonMethod: MethodDefinition<z.infer<typeof poisonConfig>> = {
  name: "test-poisoned-validation",
  summary: "test only",
  configSchema: poisonConfig,
  channels: () => 1,
  checkImageSize: () => undefined,
  defaults: { epochs: 3, batchSize: 8, imageSize: 16 },
  scoring: () => ({ smoothingSigma: 0, imageScore: "map-mean", imageScoreFromSmoothed: false, notes: [] }),
  create: (config) => {
    const net = new Scale();
    return {
      modules: { net },
      async trainBatch(_images, _n, context) {
        if (context.epoch >= config.poisonEpoch) net.weight.value = new Float32Array([Number.NaN]);
        return { loss: 1 };
      },
      buildInference: (images) => ({ map: net.forward(images) }),
      optimizerState: async () => ({}),
      loadOptimizerState() {},
      dispose: async () => undefined,
    };
  },
};
registerMethod(poisonMethod);

/**
 * A real Adam step on a scale weight whose loss stays finite, while from `poisonEpoch` on its gradient
 * is NaN: the loss adds the norm sqrt(Σ(w·gate)²) with gate 0, whose derivative is 0·∞.
 */
const gradientMethod: MethodDefinition<z.infer<typeof poisonConfig>> = {
  ...poisonMethod,
  name: "test-nan-gradient",
  create: (config) => {
    const net = new Scale();
    const step = T.compileStep({
      name: "scale",
      modules: [new ModuleGroup({ net })],
      inputs: { images: { shape: [8, 1, 16, 16] }, gate: { shape: [] } },
      build: ({ images, gate }) => {
        const weight = T.bind(net).tensors.get(net.weight)!;
        const norm = T.sqrt(T.sum(T.square(T.mul(weight, gate))));
        return { loss: T.add(T.mean(T.square(T.sub(net.forward(images), images))), norm) };
      },
      optimizer: new Adam({ lr: 1e-3 }),
    });
    return {
      modules: { net },
      async trainBatch(images, _n, context) {
        const gate = Float32Array.of(context.epoch >= config.poisonEpoch ? 0 : 1);
        const { loss } = await (await step).run({ images, gate });
        return { loss };
      },
      buildInference: (images) => ({ map: T.abs(T.sub(net.forward(images), images)) }),
      optimizerState: async () => (await step).optimizerState(),
      loadOptimizerState() {},
      dispose: async () => (await step).release(),
    };
  },
};
registerMethod(gradientMethod);

let data: string;

beforeAll(async () => {
  data = await tinyDataset();
}, 60_000);

/** Trains a test-only method poisoned from `poisonEpoch` on; resolves to the out folder and the rejected run. */
function poisonedRun(name: string, method: { name: string }, poisonEpoch: number, epochs: number) {
  const out = join(tempDir(name), "m");
  const run = train({
    data,
    method: method.name,
    config: { poisonEpoch },
    epochs,
    imageSize: 16,
    out,
    quiet: true,
  });
  return { out, run };
}

/** The trainer metadata and weight `net.weight` of the checkpoint a diverged run left behind. */
async function keptCheckpoint(out: string) {
  const checkpoint = await readSafetensors(join(out, "checkpoint.safetensors"));
  return {
    completedEpochs: JSON.parse(checkpoint.metadata.trainer).completedEpochs as number,
    weight: checkpoint.tensors["model.net.weight"].data[0],
  };
}

describe("non-finite validation", () => {
  it("stops at the epoch whose validation is NaN and keeps the previous checkpoint", async () => {
    const { out, run } = poisonedRun("nan-validation", poisonMethod, 1, 3);
    await expect(run).rejects.toBeInstanceOf(TrainingDivergedError);
    await expect(run).rejects.toThrow(
      /epoch 2: \d+ of \d+ validation scores are not finite; the checkpoint after epoch 1 is kept/,
    );
    expect(await keptCheckpoint(out)).toEqual({ completedEpochs: 1, weight: 1 });
    expect(existsSync(join(out, "anomalyscope.json"))).toBe(false);
  }, 60_000);

  it("a NaN gradient under a finite loss stops naming epoch, step and parameter; the last checkpoint stays", async () => {
    const { out, run } = poisonedRun("nan-gradient", gradientMethod, 1, 3);
    await expect(run).rejects.toBeInstanceOf(TrainingDivergedError);
    await expect(run).rejects.toThrow(
      /epoch 2, step 1: gradient of "net\.weight" in step "scale" is not finite .*; the checkpoint after epoch 1 is kept/,
    );
    const { completedEpochs, weight } = await keptCheckpoint(out);
    expect(completedEpochs).toBe(1);
    expect(Number.isFinite(weight) && weight !== 1).toBe(true);
    expect(existsSync(join(out, "anomalyscope.json"))).toBe(false);
  }, 60_000);

  it("a run that fails before its first checkpoint leaves no out folder", async () => {
    const { out, run } = poisonedRun("nan-first", poisonMethod, 0, 2);
    await expect(run).rejects.toBeInstanceOf(TrainingDivergedError);
    expect(existsSync(out)).toBe(false);
  }, 60_000);
});

describe("options", () => {
  it("the library refuses a negative or fractional seed, like the CLI", async () => {
    for (const seed of [-1, 1.5]) {
      const out = join(tempDir("bad-seed"), "m");
      await expect(
        train({ data, method: "ae", seed, epochs: 1, imageSize: 32, out, quiet: true }),
      ).rejects.toThrow(/--seed must be a non-negative integer/);
      expect(existsSync(out)).toBe(false);
    }
  });
});

describe("a training set smaller than the batch", () => {
  it("SQUID trains on 14 images with batch size 16 as one batch of 14", async () => {
    const small = join(tempDir("small-set"), "synth");
    await generateDataset({ out: small, kind: "medical", nTrain: 16, nTest: 4, size: 64, seed: 2 });
    const config = join(tempDir("small-config"), "small.json");
    writeFileSync(config, JSON.stringify({ profile: "small", statsImages: 8 }));
    const out = join(tempDir("small-model"), "m");
    const result = await train({
      data: small,
      method: "squid",
      config,
      epochs: 1,
      batchSize: 16,
      imageSize: 64,
      out,
      quiet: true,
    });
    const training = result.manifest.training as {
      batchSize: number;
      requestedBatchSize: number;
      summary: { train: number };
    };
    expect(training.batchSize).toBe(14);
    expect(training.requestedBatchSize).toBe(16);
  }, 120_000);
});

describe("memory estimate", () => {
  const ae = getMethod("ae");
  const config = parseMethodConfig(ae, {});

  it("extrapolating two small traces in the area agrees with a direct trace", () => {
    const direct = estimateMemory(ae, config, { imageSize: 512, channels: 3, batchSize: 4, training: true });
    const extrapolated = estimateMemory(ae, config, {
      imageSize: 512,
      channels: 3,
      batchSize: 4,
      training: true,
      directTraceLimit: 256,
    });
    expect(direct.tracedAt).toEqual([512]);
    expect(extrapolated.tracedAt).toEqual([128, 256]);
    expect(Math.abs(extrapolated.bytes - direct.bytes) / direct.bytes).toBeLessThan(0.02);
  });

  it("activations grow linearly with the batch; training needs more than scoring", () => {
    const needs = { imageSize: 128, channels: 1, training: true };
    const one = estimateMemory(ae, config, { ...needs, batchSize: 1 });
    const eight = estimateMemory(ae, config, { ...needs, batchSize: 8 });
    expect(eight.activations).toBeCloseTo(8 * one.activations, 0);
    expect(eight.weights).toBe(one.weights);
    const scoring = estimateMemory(ae, config, { ...needs, batchSize: 8, training: false });
    expect(scoring.bytes).toBeLessThan(eight.bytes);
  });

  it("--image-size 100000 is estimated in terabytes without building a network at that size", () => {
    const started = Date.now();
    const huge = estimateMemory(ae, config, {
      imageSize: 100_000,
      channels: 3,
      batchSize: 8,
      training: true,
    });
    expect(huge.bytes).toBeGreaterThan(1e12);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
