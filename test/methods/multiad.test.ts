/**
 * Multi-AD mechanisms (methods.md §7.9 and issue 19), on tiny inputs: the teacher stays frozen
 * (bit-identical weights, evaluation mode) through training; the discriminator's loss sends no
 * gradient into the student; the adversarial term reaches the student only when λ_adv > 0 (with
 * λ_adv = 0 the student's gradient is that of L_KD alone); the 1 − cos map is 0 exactly where the
 * student's feature is a positive multiple of the teacher's; SE scales each channel by a factor in
 * (0, 1); a dilated stride-2 bottleneck halves even sides; tap shapes follow the input side.
 * Gradients come from the float64 reference executor.
 */
import { describe, expect, it } from "vitest";
import type { Tensor } from "../../src/engine/index.js";
import * as T from "../../src/engine/index.js";
import { ModuleGroup } from "../../src/engine/index.js";
import type { MultiAdConfig } from "../../src/methods/multiad/config.js";
import { imageSizeProblem } from "../../src/methods/multiad/config.js";
import { multiadConfigSchema, multiadMethod } from "../../src/methods/multiad/index.js";
import { MultiAdNetworks } from "../../src/methods/multiad/objectives.js";
import { parseMethodConfig } from "../../src/methods/registry.js";
import { loadBackbone } from "../../src/nn/backbones/index.js";
import { Bottleneck, cosineDistanceMap, SqueezeExcitation } from "../../src/nn/index.js";
import { Random } from "../../src/util/random.js";
import { randomValues, runReference, traceModel } from "../nn/helpers.js";

const SIZE = 32;
const BATCH = 2;
const config = (overrides: Partial<MultiAdConfig> = {}) => multiadConfigSchema.parse(overrides);
const images = (seed: number, n = BATCH, size = SIZE) =>
  Float32Array.from(randomValues(seed, n * 3 * size * size), (v) => (v + 1) / 2);
const flat = (gs: Tensor[]) =>
  T.concat(
    gs.map((g) => T.reshape(g, [g.size])),
    0,
  );

describe("Multi-AD configuration", () => {
  it("is strict, defaults to the MobileNet teacher, λ_adv 0.01, product fusion, and wants sides divisible by 32", () => {
    const c = config();
    expect([c.teacher, c.lambdaAdv, c.fusion, c.discInput, c.se]).toEqual([
      "mobilenet_v1_0.75",
      0.01,
      "product",
      "normalized",
      true,
    ]);
    expect(() => parseMethodConfig(multiadMethod, { lambda: 1 })).toThrow(/unknown key "lambda"/);
    expect(() => parseMethodConfig(multiadMethod, { teacher: "resnet9" })).toThrow(/teacher/);
    expect(imageSizeProblem(c, 48)).toMatch(/multiple of 32/);
    expect(imageSizeProblem(c, 96)).toBeUndefined();
    expect(multiadMethod.channels(c, 1)).toBe(3);
  });
});

describe("Multi-AD shapes", () => {
  it("teacher and student taps are [N, 96/192/384/768, S/4, S/8, S/16, S/32] for S = 32, 64, 96", () => {
    for (const size of [32, 64, 96]) {
      const networks = new MultiAdNetworks(config(), size, new Random(1));
      const group = new ModuleGroup({ teacher: networks.teacher, student: networks.student }).eval();
      const traced = traceModel(group, { x: [1, 3, size, size] }, ({ x }) => {
        const f = networks.features(x);
        return Object.fromEntries([
          ...f.teacher.map((t, i) => [`t${i}`, t]),
          ...f.student.map((s, i) => [`s${i}`, s]),
        ]);
      });
      [96, 192, 384, 768].forEach((width, i) => {
        const side = size / 2 ** (i + 2);
        expect(traced.outputs[`t${i}`].shape).toEqual([1, width, side, side]);
        expect(traced.outputs[`s${i}`].shape).toEqual([1, width, side, side]);
      });
    }
  });

  it("a dilated stride-2 bottleneck halves even sides (dilation 2, 4, 8; padding = dilation)", () => {
    for (const dilation of [2, 4, 8])
      for (const side of [2, 4, 6, 16]) {
        const block = new Bottleneck(new Random(2), { in: 8, inner: 4, out: 16, stride: 2, dilation }).eval();
        const traced = traceModel(block, { x: [1, 8, side, side] }, ({ x }) => ({ y: block.forward(x) }));
        expect(traced.outputs.y.shape).toEqual([1, 16, side / 2, side / 2]);
      }
  });

  it("se: false builds the student without any SE block", () => {
    const withSe = new MultiAdNetworks(config(), SIZE, new Random(1)).student.namedParameters();
    const without = new MultiAdNetworks(config({ se: false }), SIZE, new Random(1)).student.namedParameters();
    expect(withSe.some(([n]) => /(^|\.)se1?\./.test(n))).toBe(true);
    expect(without.some(([n]) => /(^|\.)se1?\./.test(n))).toBe(false);
  });
});

describe("SE block and cosine map", () => {
  it("SE output = input × a per-channel factor in (0, 1)", () => {
    const se = new SqueezeExcitation(new Random(3), { channels: 8, reduction: 2 });
    const traced = traceModel(se, { x: [2, 8, 5, 5] }, ({ x }) => ({
      y: se.forward(x),
      e: se.excitation(x),
    }));
    const x = randomValues(4, 2 * 8 * 25);
    const { y, e } = runReference(traced, se, { x });
    expect(e).toHaveLength(16);
    for (const v of e) expect(v > 0 && v < 1).toBe(true);
    expect(new Set(e.map((v) => v.toFixed(6))).size).toBeGreaterThan(1);
    for (let i = 0; i < x.length; i++) expect(y[i]).toBeCloseTo(x[i] * e[Math.floor(i / 25)], 12);
  });

  it("1 − cos is 0 exactly where the student's feature is a positive multiple of the teacher's, > 0 elsewhere", () => {
    const C = 6;
    const HW = 16;
    const a = randomValues(5, C * HW);
    const other = randomValues(6, C * HW);
    // Positions 0–5: b = a; 6–9: b = 3a; 10–15: unrelated.
    const b = Float32Array.from(a, (v, i) => {
      const pos = i % HW;
      return pos < 6 ? v : pos < 10 ? 3 * v : other[i];
    });
    const traced = traceModel(undefined, { a: [1, C, 4, 4], b: [1, C, 4, 4] }, ({ a, b }) => ({
      m: cosineDistanceMap(a, b),
    }));
    const { m } = runReference(traced, undefined, { a, b });
    m.forEach((v, pos) => {
      if (pos < 10) expect(Math.abs(v)).toBeLessThan(1e-12);
      else expect(v).toBeGreaterThan(1e-3);
    });
  });
});

describe("Multi-AD gradient routing (reference executor, training mode)", () => {
  function gradients(lambdaAdv: number) {
    const networks = new MultiAdNetworks(config({ lambdaAdv }), SIZE, new Random(7));
    const group = new ModuleGroup({
      teacher: networks.teacher,
      student: networks.student,
      discriminator: networks.discriminator,
    });
    group.train();
    const keep = [BATCH, networks.dropoutFeatures];
    const traced = traceModel(
      group,
      { x: [BATCH, 3, SIZE, SIZE], keep, keepR: keep, keepF: keep },
      (inputs) => {
        const binding = T.bind(group);
        const tensorsOf = (m: T.Module) => m.namedState().map(([, p]) => binding.tensors.get(p)!);
        const student = tensorsOf(networks.student).filter(
          (_, i) => networks.student.namedState()[i][1].trainable,
        );
        const s = networks.studentObjective(inputs.x, inputs.keep);
        const lossD = networks.discriminatorObjective(s.real, s.fake, inputs.keepR, inputs.keepF);
        return {
          dToStudent: flat(T.grad(lossD, student)),
          dToDiscriminator: flat(T.grad(lossD, tensorsOf(networks.discriminator).slice(0, 2))),
          studentLossToStudent: flat(T.grad(s.loss, student)),
          kdToStudent: flat(T.grad(s.terms.kd_loss, student)),
          studentLossToTeacher: flat(T.grad(s.loss, tensorsOf(networks.teacher))),
        };
      },
    );
    const mask = Float32Array.from({ length: keep[0] * keep[1] }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const r = runReference(traced, group, { x: images(8), keep: mask, keepR: mask, keepF: mask });
    r.teacherTraining = [networks.teacher.anyTraining() ? 1 : 0];
    return r;
  }
  const adversarial = gradients(0.01);
  const plain = gradients(0);

  it("the discriminator's loss sends exactly zero gradient into the student, but trains D", () => {
    for (const r of [adversarial, plain]) {
      expect(r.dToStudent.every((v) => v === 0)).toBe(true);
      expect(r.dToDiscriminator.some((v) => v !== 0)).toBe(true);
    }
  });

  it("λ_adv = 0: the student's gradient equals that of L_KD alone; λ_adv = 0.01: the adversarial term adds to it", () => {
    expect(plain.studentLossToStudent).toEqual(plain.kdToStudent);
    expect(plain.kdToStudent.some((v) => v !== 0)).toBe(true);
    const difference = adversarial.studentLossToStudent.reduce(
      (a, v, i) => Math.max(a, Math.abs(v - adversarial.kdToStudent[i])),
      0,
    );
    expect(difference).toBeGreaterThan(0);
  });

  it("the teacher stays in evaluation mode inside a training-mode group and gets no gradient", () => {
    expect(adversarial.teacherTraining).toEqual([0]);
    expect(adversarial.studentLossToTeacher.every((v) => v === 0)).toBe(true);
  });
});

describe("Multi-AD training", () => {
  it("leaves the teacher bit-identical and in evaluation mode; trains the student and the discriminator", async () => {
    const instance = multiadMethod.create(config(), { imageSize: SIZE, channels: 3, random: new Random(9) });
    const snapshot = (name: string) =>
      instance.modules[name].namedState().map(([n, p]) => [n, Float32Array.from(p.value)] as const);
    const student = snapshot("student");
    const discriminator = snapshot("discriminator");
    const losses = [];
    for (let i = 0; i < 2; i++)
      losses.push(
        await instance.trainBatch(images(10 + i), BATCH, {
          epoch: 0,
          epochs: 1,
          iteration: i,
          random: new Random(i),
        }),
      );
    await instance.dispose();
    for (const l of losses) for (const v of Object.values(l)) expect(Number.isFinite(v)).toBe(true);
    expect(Object.keys(losses[0]).sort()).toEqual(["adv_loss", "d_loss", "kd_loss", "loss"]);

    const teacher = instance.modules.teacher;
    expect(teacher.anyTraining()).toBe(false);
    const pristine = new Map(loadBackbone("mobilenet_v1_0.75").namedState());
    for (const [name, p] of teacher.namedState()) {
      const original = pristine.get(name)!.value;
      expect(Buffer.from(p.value.buffer).equals(Buffer.from(original.buffer))).toBe(true);
    }
    const changed = (before: ReturnType<typeof snapshot>, name: string) => {
      const now = new Map(instance.modules[name].namedState());
      return before.filter(([n, v]) => now.get(n)!.trainable && now.get(n)!.value.some((x, i) => x !== v[i]))
        .length;
    };
    expect(changed(student, "student")).toBeGreaterThan(0);
    expect(changed(discriminator, "discriminator")).toBeGreaterThan(0);
  }, 60_000);
});
