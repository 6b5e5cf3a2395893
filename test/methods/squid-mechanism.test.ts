/**
 * SQUID mechanisms (methods.md §4.9), checked on tiny shapes: gradient routing and graph structure with
 * the float64 reference executor, the FIFO queue write and evaluation-mode scoring on ONNX Runtime.
 * The generic top-k read itself (k − 1 survivors, softmax backward) is tested in test/nn/blocks.test.ts;
 * here its use against the queues is checked.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { Tensor } from "../../src/engine/index.js";
import * as T from "../../src/engine/index.js";
import type { SquidDiscriminator } from "../../src/methods/squid/discriminator.js";
import { type SquidConfig, squidConfigSchema, squidMethod } from "../../src/methods/squid/index.js";
import { positionBits, type SquidGenerator } from "../../src/methods/squid/network.js";
import { neighbourIndices } from "../../src/nn/index.js";
import { Scorer } from "../../src/score/scorer.js";
import { Random } from "../../src/util/random.js";
import { expectClose, forwardReference, randomValues, runReference, traceModel } from "../nn/helpers.js";

const SIZE = 64;
const GRID = 2;
const PATCHES = GRID * GRID;

function tinyConfig(overrides: Partial<SquidConfig> = {}): SquidConfig {
  return squidConfigSchema.parse({
    profile: "small",
    baseWidth: 4,
    queueSlots: 5,
    decoderMemorySlots: 6,
    ...overrides,
  });
}

function create(config: SquidConfig, seed = 1) {
  const instance = squidMethod.create(config, { imageSize: SIZE, channels: 1, random: new Random(seed) });
  return {
    instance,
    generator: instance.modules.generator as SquidGenerator,
    discriminator: instance.modules.discriminator as SquidDiscriminator,
  };
}

function images(seed: number, batch: number): Float32Array {
  return Float32Array.from(randomValues(seed, batch * SIZE * SIZE), (v) => (v + 1) / 2);
}

/** All-ones training masks (the masked shortcut keeps the in-painted values everywhere). */
function onesMasks(batch: number) {
  const q = SIZE / GRID / 16;
  const shape = (side: number) => [batch * PATCHES, 1, side, side];
  return {
    shortcut: T.full(shape(q), 1),
    decoder: [T.full(shape(2 * q), 1), T.full(shape(4 * q), 1)] as const,
  };
}

describe("SQUID configuration", () => {
  it("rejects unknown keys and sides the grid and discriminator cannot use", () => {
    expect(squidConfigSchema.safeParse({ profile: "small", queue: 3 }).success).toBe(false);
    const config = squidConfigSchema.parse({});
    expect(squidMethod.checkImageSize(config, 128)).toBeUndefined();
    expect(squidMethod.checkImageSize(config, 100)).toMatch(/divisible by 32/);
    expect(squidMethod.checkImageSize(squidConfigSchema.parse({ gridSize: 3 }), 96)).toBeUndefined();
    expect(squidMethod.checkImageSize(squidConfigSchema.parse({ gridSize: 3 }), 128)).toMatch(
      /divisible by 48/,
    );
    expect(squidMethod.checkImageSize(config, 32)).toMatch(/at least 64/);
  });

  it("the reconstruction ablation scores the mean residual map, without the discriminator", () => {
    const config = tinyConfig({ score: "reconstruction" });
    expect(squidMethod.scoring(config).imageScore).toBe("map-mean");
    const { instance, generator, discriminator } = create(config);
    generator.eval();
    discriminator.eval();
    T.trace(() => {
      T.bind(generator);
      const out = instance.buildInference(T.input("x", [2, 1, SIZE, SIZE]));
      expect(out.imageScore).toBeUndefined();
      expect(out.map.shape).toEqual([2, 1, SIZE, SIZE]);
    });
  });

  it("position codes have ⌊log2 P⌋ + 1 bits, most significant first", () => {
    expect(positionBits(4)).toEqual([
      [0, 0, 0],
      [0, 0, 1],
      [0, 1, 0],
      [0, 1, 1],
    ]);
    const nine = positionBits(9);
    expect(nine.map((b) => b.length)).toEqual(new Array(9).fill(4));
    expect(nine.map((b) => Number.parseInt(b.join(""), 2))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe("SQUID in-painting block (reference executor, evaluation mode)", () => {
  const batch = 2;
  const { generator } = create(tinyConfig());
  generator.eval();
  const traced = traceModel(generator, { x: [batch, 1, SIZE, SIZE] }, ({ x }) => {
    const { inpaint } = generator.forward(x);
    return {
      features: inpaint.features,
      reads: inpaint.reads,
      keys: inpaint.keys as Tensor,
      weights: inpaint.attentionWeights as Tensor,
    };
  });
  const x = images(5, batch);
  const base = runReference(traced, generator, { x });
  const queueParameter = generator.namedBuffers().find(([name]) => name.endsWith("queue"))!;
  const [, slots, d] = queueParameter[1].shape;

  it("each position reads only its own queue, a top-(k−1) convex combination of its rows", () => {
    const queue = queueParameter[1].value;
    for (let p = 0; p < PATCHES; p++) {
      const perturbed = queue.slice();
      for (let i = p * slots * d; i < (p + 1) * slots * d; i++) perturbed[i] += 0.5 * Math.sin(i);
      const r = runReference(traced, generator, { x, [queueParameter[0]]: perturbed });
      for (let b = 0; b < batch; b++)
        for (let q = 0; q < PATCHES; q++) {
          const at = (v: number[]) => v.slice((b * PATCHES + q) * d, (b * PATCHES + q + 1) * d);
          if (q === p) expect(at(r.reads)).not.toEqual(at(base.reads));
          else expect(at(r.reads)).toEqual(at(base.reads));
        }
    }
    // the read of (b, p): softmax of f·Q_pᵀ restricted to its k − 1 = 4 largest entries, renormalised
    for (let b = 0; b < batch; b++)
      for (let p = 0; p < PATCHES; p++) {
        const f = base.features.slice((b * PATCHES + p) * d, (b * PATCHES + p + 1) * d);
        const rows = Array.from({ length: slots }, (_, s) =>
          queue.subarray((p * slots + s) * d, (p * slots + s + 1) * d),
        );
        const logits = rows.map((row) => row.reduce((a, v, i) => a + v * f[i], 0));
        const top = [...logits.keys()].sort((i, j) => logits[j] - logits[i]).slice(0, 4);
        const m = Math.max(...logits);
        const e = top.map((i) => Math.exp(logits[i] - m));
        const total = e.reduce((a, v) => a + v, 0);
        const expected = Array.from({ length: d }, (_, c) =>
          top.reduce((a, s, j) => a + (e[j] / total) * rows[s][c], 0),
        );
        expectClose(base.reads.slice((b * PATCHES + p) * d, (b * PATCHES + p + 1) * d), expected, 1e-6);
      }
  });

  it("attends to the memory reads of the 8 grid neighbours, zero-padded, never to itself", () => {
    const indices = neighbourIndices(GRID);
    expect(traced.outputs.keys.shape).toEqual([batch * PATCHES, 8, d]);
    for (let b = 0; b < batch; b++)
      for (let p = 0; p < PATCHES; p++) {
        const row = b * PATCHES + p;
        let zeroKeys = 0;
        for (let j = 0; j < 8; j++) {
          const key = base.keys.slice((row * 8 + j) * d, (row * 8 + j + 1) * d);
          const source = indices[p * 8 + j];
          if (source === PATCHES) {
            zeroKeys++;
            expect(key.every((v) => v === 0)).toBe(true);
          } else {
            expect(source).not.toBe(p);
            expect(key).toEqual(base.reads.slice((b * PATCHES + source) * d, (b * PATCHES + source + 1) * d));
          }
        }
        expect(zeroKeys).toBe(5);
        // no key mask [code]: the 5 zero keys share one logit, hence one non-zero weight
        const weights = base.weights.slice(row * 8, row * 8 + 8);
        const padded = weights.filter((_, j) => indices[p * 8 + j] === PATCHES);
        expect(padded[0]).toBeGreaterThan(0);
        for (const w of padded) expect(w).toBeCloseTo(padded[0], 12);
        expect(weights.reduce((a, w) => a + w, 0)).toBeCloseTo(1, 12);
      }
  });
});

describe("SQUID gradient routing (reference executor, training mode)", () => {
  const batch = 2;
  const { generator } = create(tinyConfig());
  generator.train();
  const encoderParameters = generator.encoder.namedParameters().map(([, p]) => p);
  const queue = generator.namedBuffers().find(([name]) => name.endsWith("queue"))![1];
  const teacherWeight = generator.namedParameters().find(([name]) => name.startsWith("teacher.out"))![1];
  const traced = traceModel(generator, { x: [batch, 1, SIZE, SIZE] }, ({ x }) => {
    const out = generator.forward(x, { masks: onesMasks(batch), teacher: true });
    const binding = T.bind(generator);
    const tensors = (ps: readonly T.Parameter[]) => ps.map((p) => binding.tensors.get(p)!);
    const teacherLoss = T.mean(T.square(T.sub(out.teacherReconstruction!, x)));
    const studentLoss = T.mean(T.square(T.sub(out.reconstruction, x)));
    const total = T.add(T.add(studentLoss, teacherLoss), generator.distillation(out));
    const [teacherToEncoder, teacherToTeacher] = [
      T.grad(teacherLoss, tensors(encoderParameters)),
      T.grad(teacherLoss, tensors([teacherWeight])),
    ];
    const flat = (gs: Tensor[]) =>
      T.concat(
        gs.map((g) => T.reshape(g, [g.size])),
        0,
      );
    return {
      teacherToEncoder: flat(teacherToEncoder),
      teacherToTeacher: flat(teacherToTeacher),
      studentToEncoder: flat(T.grad(studentLoss, tensors(encoderParameters))),
      totalToQueue: flat(T.grad(total, tensors([queue]))),
    };
  });
  const r = runReference(traced, generator, { x: images(7, batch) });

  it("the teacher's loss does not reach the encoder (exactly zero), but trains the teacher", () => {
    expect(r.teacherToEncoder.every((v) => v === 0)).toBe(true);
    expect(r.teacherToTeacher.some((v) => v !== 0)).toBe(true);
    expect(r.studentToEncoder.some((v) => v !== 0)).toBe(true);
  });

  it("no gradient reaches a memory queue", () => {
    expect(r.totalToQueue).toHaveLength(queue.size);
    expect(r.totalToQueue.every((v) => v === 0)).toBe(true);
  });

  it("training mode needs the masks; evaluation mode has none", () => {
    expect(() =>
      traceModel(generator, { x: [1, 1, SIZE, SIZE] }, ({ x }) => ({
        y: generator.forward(x).reconstruction,
      })),
    ).toThrow(/masks/);
  });
});

describe("SQUID distillation switch distStopGradTeacher (reference executor)", () => {
  const batch = 2;
  /** Gradients of L_dist alone with respect to the teacher's and the student's parameters. */
  function distillationGradients(distStopGradTeacher: boolean) {
    const { generator } = create(tinyConfig({ distStopGradTeacher }), 3);
    generator.train();
    const parametersUnder = (prefix: string) =>
      generator
        .namedParameters()
        .filter(([name]) => name.startsWith(prefix))
        .map(([, p]) => p);
    const teacher = parametersUnder("teacher.");
    const student = parametersUnder("student.");
    expect(teacher.length).toBeGreaterThan(0);
    expect(student.length).toBeGreaterThan(0);
    const traced = traceModel(generator, { x: [batch, 1, SIZE, SIZE] }, ({ x }) => {
      const out = generator.forward(x, { masks: onesMasks(batch), teacher: true });
      const binding = T.bind(generator);
      const flatGrad = (ps: readonly T.Parameter[]) =>
        T.concat(
          T.grad(
            generator.distillation(out),
            ps.map((p) => binding.tensors.get(p)!),
          ).map((g) => T.reshape(g, [g.size])),
          0,
        );
      return { toTeacher: flatGrad(teacher), toStudent: flatGrad(student) };
    });
    return runReference(traced, generator, { x: images(8, batch) });
  }

  it("official (false): the distillation loss trains both the teacher and the student", () => {
    const r = distillationGradients(false);
    expect(r.toTeacher.some((v) => v !== 0)).toBe(true);
    expect(r.toStudent.some((v) => v !== 0)).toBe(true);
  });

  it("true: the teacher receives exactly zero distillation gradient; the student still learns", () => {
    const r = distillationGradients(true);
    expect(r.toTeacher.every((v) => v === 0)).toBe(true);
    expect(r.toStudent.some((v) => v !== 0)).toBe(true);
  });
});

describe("SQUID discriminator batch norm (reference executor)", () => {
  const batch = 2;
  const x = images(60, batch);
  const other = images(61, batch);
  /** Image 1 replaced, image 0 kept. */
  const withOtherCompanion = Float32Array.from(x);
  withOtherCompanion.set(other.subarray(SIZE * SIZE), SIZE * SIZE);

  function logits(discriminator: SquidDiscriminator, input: Float32Array, count: number): number[] {
    return forwardReference(discriminator, [count, 1, SIZE, SIZE], input, (t) => discriminator.forward(t)).y;
  }

  function setRunningStatistics(discriminator: SquidDiscriminator, mean: number, variance: number) {
    for (const [name, buffer] of discriminator.namedBuffers()) {
      if (name.endsWith("running_mean")) buffer.value = new Float32Array(buffer.size).fill(mean);
      if (name.endsWith("running_var")) buffer.value = new Float32Array(buffer.size).fill(variance);
    }
  }

  it("training mode normalises over the whole batch: an image's logit depends on its companions", () => {
    const { discriminator } = create(tinyConfig(), 5);
    discriminator.train();
    expect(
      Math.abs(logits(discriminator, x, batch)[0] - logits(discriminator, withOtherCompanion, batch)[0]),
    ).toBeGreaterThan(1e-6);
  });

  it('"batch" at test (official): each image over its own positions; running statistics are ignored', () => {
    const { discriminator } = create(tinyConfig({ discriminatorBnAtTest: "batch" }), 5);
    discriminator.eval();
    setRunningStatistics(discriminator, 0.3, 2);
    const base = logits(discriminator, x, batch);
    expectClose(logits(discriminator, withOtherCompanion, batch).slice(0, 1), base.slice(0, 1), 1e-9);
    expectClose(logits(discriminator, x.slice(0, SIZE * SIZE), 1), base.slice(0, 1), 1e-9);
    setRunningStatistics(discriminator, -1, 5);
    expectClose(logits(discriminator, x, batch), base, 1e-9);
  });

  it('"running" at test: the running statistics decide; companions do not', () => {
    const { discriminator } = create(tinyConfig({ discriminatorBnAtTest: "running" }), 5);
    discriminator.eval();
    setRunningStatistics(discriminator, 0.3, 2);
    const base = logits(discriminator, x, batch);
    expectClose(logits(discriminator, withOtherCompanion, batch).slice(0, 1), base.slice(0, 1), 1e-9);
    setRunningStatistics(discriminator, -1, 5);
    const changed = logits(discriminator, x, batch);
    expect(Math.abs(changed[0] - base[0])).toBeGreaterThan(1e-6);
  });
});

describe("SQUID training steps on ONNX Runtime", () => {
  const batch = 3;
  const config = tinyConfig();
  const { instance, generator } = create(config, 4);
  const queue = generator.namedBuffers().find(([name]) => name.endsWith("queue"))![1];
  const pointer = generator.namedBuffers().find(([name]) => name.endsWith("pointer"))![1];
  const [, slots, d] = queue.shape;
  afterAll(() => instance.dispose());

  /** Features f [B, P, d] the next generator step will write, computed in float64 from the current weights. */
  function expectedFeatures(x: Float32Array): number[] {
    generator.train();
    const traced = traceModel(generator, { x: [batch, 1, SIZE, SIZE] }, ({ x }) => ({
      f: generator.forward(x, { masks: onesMasks(batch) }).inpaint.features,
    }));
    return runReference(traced, generator, { x }).f;
  }

  it("writes each generator step's features FIFO with wrap-around; discriminator steps leave the queues alone", async () => {
    const expected = queue.value.slice();
    let ptr = 0;
    for (let step = 0; step < 3; step++) {
      const x = images(20 + step, batch);
      const features = expectedFeatures(x);
      for (const iteration of [2 * step, 2 * step + 1]) {
        await instance.trainBatch(x, batch, {
          epoch: 0,
          epochs: 1,
          iteration,
          random: new Random(iteration),
        });
        if (iteration % 2 === 0) {
          for (let p = 0; p < PATCHES; p++)
            for (let i = 0; i < batch; i++) {
              const row = (ptr + i) % slots;
              const source = features.slice((i * PATCHES + p) * d, (i * PATCHES + p + 1) * d);
              expected.set(source, (p * slots + row) * d);
            }
          ptr = (ptr + batch) % slots;
        }
        expect(pointer.value[0]).toBe(ptr);
        for (let p = 0; p < PATCHES; p++)
          for (let row = 0; row < slots; row++) {
            const at = (p * slots + row) * d;
            expectClose(queue.value.subarray(at, at + d), expected.subarray(at, at + d), 1e-4);
          }
      }
    }
    // 9 writes into 5 slots: rows hold items (step, item) = (1,2) (2,0) (2,1) (2,2) (1,1)
    expect(ptr).toBe(4);
  });

  it("scores deterministically in evaluation mode, each image independently of its batch", async () => {
    const scorer = new Scorer(instance, squidMethod.scoring(config), SIZE, 1);
    try {
      const x = images(40, batch);
      const first = await scorer.scoreBatch(x, batch);
      const scores = first.scores.slice();
      const maps = first.maps.slice();
      const second = await scorer.scoreBatch(x, batch);
      expect(second.scores).toEqual(scores);
      expect(second.maps).toEqual(maps);
      const alone = await scorer.scoreBatch(x.slice(0, SIZE * SIZE), 1);
      expect(alone.scores[0]).toBeCloseTo(scores[0], 5);
      for (const s of scores) expect(s).toBeGreaterThan(0);
    } finally {
      await scorer.dispose();
    }
  });
});

describe("SQUID instance", () => {
  it("reports the discriminator loss every batch and the last generator step's terms", async () => {
    const { instance } = create(tinyConfig({ memory: "matrix", inpainting: false }), 9);
    try {
      const x = images(50, 3);
      const first = await instance.trainBatch(x, 3, {
        epoch: 0,
        epochs: 1,
        iteration: 0,
        random: new Random(1),
      });
      const second = await instance.trainBatch(x, 3, {
        epoch: 0,
        epochs: 1,
        iteration: 1,
        random: new Random(2),
      });
      for (const key of ["d_loss", "loss", "recon_loss", "g_loss", "t_recon_loss", "dist_loss"])
        expect(Number.isFinite(first[key])).toBe(true);
      expect(second.recon_loss).toBe(first.recon_loss);
      expect(second.d_loss).not.toBe(first.d_loss);
      expect(Object.keys(await instance.optimizerState()).some((k) => k.startsWith("generator/"))).toBe(true);
    } finally {
      await instance.dispose();
    }
  });
});
