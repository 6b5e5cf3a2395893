/**
 * DAAD mechanisms (methods.md §6.9 and the list), on tiny networks (base width 4, 64 px):
 * configuration and block sizes; no input reaches the output except through a memory; gradient routing
 * on the float64 reference executor (the latent and adversarial terms send no gradient and no
 * running-statistics update into the discriminator, the discriminator step none into the generator,
 * the reconstruction reaches the memory rows of every scale); the score's statistics are those of the
 * images given to `finishTraining` (the training split) and scoring other images leaves them alone.
 * The block-wise memory itself is tested in test/nn/block-memory.test.ts.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { Parameter, Tensor } from "../../src/engine/index.js";
import * as T from "../../src/engine/index.js";
import { compileFunction, ModuleGroup } from "../../src/engine/index.js";
import { blockSizes, type DaadConfig, daadConfigSchema, daadMethod } from "../../src/methods/daad/index.js";
import { discriminatorLoss, generatorTerms } from "../../src/methods/daad/losses.js";
import type { DaadGenerator } from "../../src/methods/daad/network.js";
import type { DcganDiscriminator } from "../../src/nn/index.js";
import { Scorer } from "../../src/score/scorer.js";
import { Random } from "../../src/util/random.js";
import { randomValues, runReference, traceModel } from "../nn/helpers.js";

const SIZE = 64;

function tinyConfig(overrides: Partial<DaadConfig> = {}): DaadConfig {
  return daadConfigSchema.parse({ width: 4, memorySize: 8, reducedChannels: 2, ...overrides });
}

function create(config: DaadConfig, seed = 1) {
  const instance = daadMethod.create(config, { imageSize: SIZE, channels: 3, random: new Random(seed) });
  return {
    instance,
    generator: instance.modules.generator as DaadGenerator,
    discriminator: instance.modules.discriminator as DcganDiscriminator | undefined,
  };
}

/** Images in [0, 1] as the trainer feeds them. */
function images(seed: number, batch: number): Float32Array {
  return Float32Array.from(randomValues(seed, batch * 3 * SIZE * SIZE), (v) => (v + 1) / 2);
}

describe("DAAD configuration", () => {
  it("defaults to a 4×4 grid of blocks per scale (b = side/4, at least 1); b is configurable per scale", () => {
    const config = daadConfigSchema.parse({});
    expect(blockSizes(config, 256)).toEqual({ 3: 8, 4: 4, 5: 2 });
    expect(blockSizes(config, 128)).toEqual({ 3: 4, 4: 2, 5: 1 });
    expect(blockSizes(config, 64)).toEqual({ 3: 2, 4: 1, 5: 1 });
    expect(blockSizes(daadConfigSchema.parse({ blocks: { scale4: 8 } }), 256)).toEqual({ 3: 8, 4: 8, 5: 2 });
    expect(daadConfigSchema.safeParse({ blocks: { scale2: 2 } }).success).toBe(false);
    expect(daadConfigSchema.safeParse({ memorySlots: 3 }).success).toBe(false);
  });

  it("accepts multiples of 32 only, and names the scale, the map size and b when b does not divide the map", () => {
    const config = daadConfigSchema.parse({});
    expect(daadMethod.checkImageSize(config, 256)).toBeUndefined();
    expect(daadMethod.checkImageSize(config, 96)).toBeUndefined();
    expect(daadMethod.checkImageSize(config, 100)).toMatch(/multiple of 32/);
    const bad = daadConfigSchema.parse({ blocks: { scale3: 3 } });
    const message = "the 16×16 map at scale 3 is not divisible into blocks of side 3";
    expect(daadMethod.checkImageSize(bad, 128)).toMatch(message);
    expect(() => daadMethod.create(bad, { imageSize: 128, channels: 3, random: new Random(0) })).toThrow(
      message,
    );
    expect(
      daadMethod.checkImageSize(daadConfigSchema.parse({ memory: false, blocks: { scale3: 3 } }), 128),
    ).toBe(undefined);
  });

  it("the vanilla AE ({memory: false, adversarial: false}) has no memory, no discriminator and no d_loss", async () => {
    const { instance } = create(tinyConfig({ memory: false, adversarial: false }));
    expect(Object.keys(instance.modules).sort()).toEqual(["generator", "statistics"]);
    expect(instance.modules.generator.namedParameters().some(([name]) => name.includes("memory"))).toBe(
      false,
    );
    const report = await instance.trainBatch(images(1, 2), 2, {
      epoch: 0,
      epochs: 1,
      iteration: 0,
      random: new Random(0),
    });
    expect(Object.keys(report).sort()).toEqual(["loss", "reconstruction"]);
    await instance.dispose();
  });
});

describe("DAAD generator paths (reference executor, evaluation mode)", () => {
  function reconstructions(config: DaadConfig, zeroMemories: boolean): number[][] {
    const { generator } = create(config, 2);
    generator.eval();
    if (zeroMemories)
      for (const [name, p] of generator.namedParameters())
        if (name.endsWith("memory.weight")) p.value = new Float32Array(p.size);
    const traced = traceModel(generator, { x: [1, 3, SIZE, SIZE] }, ({ x }) => ({
      y: generator.forward(T.sub(T.mul(x, 2), 1)).reconstruction,
    }));
    return [3, 4].map((seed) => runReference(traced, generator, { x: images(seed, 1) }).y);
  }

  it("with every memory row zero the reconstruction no longer depends on the input: no raw skip", () => {
    const [a, b] = reconstructions(tinyConfig(), true);
    expect(a).toEqual(b);
    const [c, d] = reconstructions(tinyConfig(), false);
    expect(c).not.toEqual(d);
  });
});

describe("DAAD gradient routing (reference executor, training mode)", () => {
  const batch = 2;
  const { generator, discriminator } = create(tinyConfig(), 3);
  const d = discriminator!;
  const group = new ModuleGroup({ generator, discriminator: d });
  group.train();
  const parametersOf = (module: DaadGenerator | DcganDiscriminator) =>
    module.namedParameters().map(([, p]) => p);
  const memoryRows = generator
    .namedParameters()
    .filter(([name]) => name.endsWith("memory.weight"))
    .map(([, p]) => p);
  const flatGradient = (loss: Tensor, parameters: readonly Parameter[]) => {
    const binding = T.bind(group);
    return T.concat(
      T.grad(
        loss,
        parameters.map((p) => binding.tensors.get(p)!),
      ).map((g) => T.reshape(g, [g.size])),
      0,
    );
  };
  const x = images(5, batch);
  const signed = (t: Tensor) => T.sub(T.mul(t, 2), 1);

  const generatorTrace = traceModel(group, { x: [batch, 3, SIZE, SIZE] }, ({ x }) => {
    const terms = generatorTerms(generator, d, signed(x));
    return {
      latentToD: flatGradient(terms.latent!, parametersOf(d)),
      adversarialToD: flatGradient(terms.adversarial!, parametersOf(d)),
      latentToG: flatGradient(terms.latent!, parametersOf(generator)),
      adversarialToG: flatGradient(terms.adversarial!, parametersOf(generator)),
      ...Object.fromEntries(
        memoryRows.map((p, i) => [`reconstructionToMemory${i}`, flatGradient(terms.reconstruction, [p])]),
      ),
    };
  });
  const discriminatorTrace = traceModel(group, { x: [batch, 3, SIZE, SIZE] }, ({ x }) => {
    const loss = discriminatorLoss(generator, d, signed(x));
    return { toG: flatGradient(loss, parametersOf(generator)), toD: flatGradient(loss, parametersOf(d)) };
  });
  const g = runReference(generatorTrace, group, { x });
  const r = runReference(discriminatorTrace, group, { x });
  const updated = (trace: typeof generatorTrace, module: DaadGenerator | DcganDiscriminator) =>
    module.namedBuffers().filter(([, p]) => trace.binding.updates.has(p)).length;

  it("the latent and adversarial terms send exactly zero gradient into the discriminator", () => {
    expect(g.latentToD.every((v) => v === 0)).toBe(true);
    expect(g.adversarialToD.every((v) => v === 0)).toBe(true);
    expect(g.latentToG.some((v) => v !== 0)).toBe(true);
    expect(g.adversarialToG.some((v) => v !== 0)).toBe(true);
  });

  it("the discriminator step sends exactly zero gradient into the generator", () => {
    expect(r.toG).toHaveLength(generator.parameterCount());
    expect(r.toG.every((v) => v === 0)).toBe(true);
    expect(r.toD.some((v) => v !== 0)).toBe(true);
  });

  it("each step updates the running statistics of its own network only", () => {
    expect(updated(generatorTrace, d)).toBe(0);
    expect(updated(generatorTrace, generator)).toBeGreaterThan(0);
    expect(updated(discriminatorTrace, generator)).toBe(0);
    expect(updated(discriminatorTrace, d)).toBeGreaterThan(0);
  });

  it("the reconstruction loss reaches the memory rows of every scale", () => {
    expect(memoryRows).toHaveLength(3);
    for (let i = 0; i < 3; i++) expect(g[`reconstructionToMemory${i}`].some((v) => v !== 0)).toBe(true);
  });
});

describe("DAAD score statistics (ONNX Runtime)", () => {
  const { instance, generator, discriminator } = create(tinyConfig(), 6);
  const statistics = instance.modules.statistics;
  afterAll(() => instance.dispose());
  const value = (name: string) => statistics.namedBuffers().find(([n]) => n === name)![1].value[0];
  const train = images(10, 6);
  const other = Float32Array.from(images(11, 4), (v) => v * v);

  async function perImage(input: Float32Array, count: number) {
    const group = new ModuleGroup({ generator, discriminator: discriminator! }).eval();
    const fn = await compileFunction({
      modules: [group],
      inputs: { images: { shape: [count, 3, SIZE, SIZE] } },
      build: ({ images }) => {
        const x = T.sub(T.mul(images, 2), 1);
        const y = generator.forward(x).reconstruction;
        const latent = T.square(T.sub(discriminator!.features(x), discriminator!.features(y)));
        return { r: T.mean(T.square(T.sub(y, x)), [1, 2, 3]), l: T.mean(latent, [1, 2, 3]) };
      },
    });
    const out = await fn.run({ images: input });
    await fn.release();
    return { r: Array.from(out.r as Float32Array), l: Array.from(out.l as Float32Array) };
  }

  const moments = (v: number[]) => {
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    return { mean, std: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length) };
  };

  it("are the mean and population std of R and L over the images given to finishTraining, and scoring leaves them alone", async () => {
    for (let i = 0; i < 2; i++)
      await instance.trainBatch(train.subarray(0, 4 * 3 * SIZE * SIZE), 4, {
        epoch: 0,
        epochs: 1,
        iteration: i,
        random: new Random(i),
      });
    async function* batches() {
      yield { images: train.subarray(0, 4 * 3 * SIZE * SIZE), count: 4 };
      yield { images: train.subarray(4 * 3 * SIZE * SIZE), count: 2 };
    }
    await instance.finishTraining!(batches());
    const expected = await perImage(train, 6);
    const close = (a: number, b: number) =>
      expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-4 * Math.abs(b) + 1e-9);
    close(value("reconstruction_mean"), moments(expected.r).mean);
    close(value("reconstruction_std"), moments(expected.r).std);
    close(value("latent_mean"), moments(expected.l).mean);
    close(value("latent_std"), moments(expected.l).std);
    const notTraining = moments((await perImage(other, 4)).r);
    expect(Math.abs(value("reconstruction_mean") - notTraining.mean)).toBeGreaterThan(1e-4);

    const before = statistics.namedBuffers().map(([, p]) => p.value[0]);
    const scorer = new Scorer(instance, daadMethod.scoring(tinyConfig()), SIZE, 3);
    const trainScores = Array.from((await scorer.scoreBatch(train, 6)).scores);
    await scorer.scoreBatch(other, 4);
    await scorer.dispose();
    expect(statistics.namedBuffers().map(([, p]) => p.value[0])).toEqual(before);
    // s = 0.5·z_R + 0.5·z_L with training moments: zero mean over the training images.
    expect(Math.abs(moments(trainScores).mean)).toBeLessThan(1e-3);
  });
});
