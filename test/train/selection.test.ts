/**
 * Choosing the epoch and the threshold without anomalous labels (issue 22), as mechanisms: the synthetic
 * validation set is the same for the same seed and different for another; every pasted defect lies in
 * its mask; training with `select: "synthetic"` decodes no test image (the image reader is
 * instrumented); the saved model is bit-identical to the checkpoint of the selected epoch; the selector
 * keeps and restores an earlier epoch's weights and survives a checkpoint round trip; bad options are
 * one-line errors.
 */
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { loadDataset } from "../../src/data/index.js";
import { Module } from "../../src/engine/module.js";
import { readSafetensors } from "../../src/engine/safetensors.js";
import { OptionError } from "../../src/errors.js";
import "../../src/methods/index.js";
import type { Scorer } from "../../src/score/scorer.js";
import {
  generateDataset,
  generateIndustrialImage,
  generateMedicalImage,
  industrialStyle,
  pasteDefect,
  pastedDefectKinds,
} from "../../src/synth/index.js";
import { buildSyntheticValidation, EpochSelector, type ValidationSet } from "../../src/train/selection.js";
import { train } from "../../src/train/trainer.js";
import { Random } from "../../src/util/random.js";
import { tempDir } from "../e2e/helpers.js";

/** Every path the image reader decoded, in order (all readers go through `src/io/index.ts`). */
const decoded: string[] = vi.hoisted(() => []);

vi.mock("../../src/io/index.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/io/index.js")>();
  return {
    ...original,
    readImage: (path: string, options?: Parameters<typeof original.readImage>[1]) => {
      decoded.push(path);
      return original.readImage(path, options);
    },
  };
});

let data: string;

beforeAll(async () => {
  data = join(tempDir("selection-data"), "synth");
  await generateDataset({ out: data, kind: "industrial", nTrain: 48, nTest: 16, size: 32, seed: 3 });
});

const setOptions = { imageSize: 32, channels: 1, batchSize: 8 };

describe("synthetic validation set", () => {
  it("is identical for the same seed and differs for another seed", async () => {
    const { validation } = await loadDataset(data, { seed: 0 });
    const a = await buildSyntheticValidation(validation, { ...setOptions, seed: 7 });
    const b = await buildSyntheticValidation(validation, { ...setOptions, seed: 7 });
    const c = await buildSyntheticValidation(validation, { ...setOptions, seed: 8 });
    const normals = validation.filter((s) => s.label === 0).length;
    expect(a.count).toBe(2 * normals);
    expect(a.labels.filter((l) => l === 1)).toHaveLength(normals);
    expect(a.kinds.slice(normals)).toEqual(
      Array.from({ length: normals }, (_, i) => pastedDefectKinds[i % pastedDefectKinds.length]),
    );
    expect(Buffer.from(b.images.buffer).equals(Buffer.from(a.images.buffer))).toBe(true);
    expect(Buffer.from(b.masks.buffer).equals(Buffer.from(a.masks.buffer))).toBe(true);
    expect(Buffer.from(c.images.buffer).equals(Buffer.from(a.images.buffer))).toBe(false);
    const plane = 32 * 32;
    // The normal half is the validation images themselves, identical for every seed.
    expect(Buffer.from(c.images.subarray(0, normals * plane).buffer.slice(0, normals * plane * 4))).toEqual(
      Buffer.from(a.images.subarray(0, normals * plane).buffer.slice(0, normals * plane * 4)),
    );
    for (let i = 0; i < normals; i++) {
      const mask = a.masks.subarray((normals + i) * plane, (normals + i + 1) * plane);
      expect(mask.some((v) => v === 1)).toBe(true);
      expect(a.masks.subarray(i * plane, (i + 1) * plane).every((v) => v === 0)).toBe(true);
    }
  });

  it("uses only the listed defect kinds and rejects unknown ones", async () => {
    const { validation } = await loadDataset(data, { seed: 0 });
    const set = await buildSyntheticValidation(validation, {
      ...setOptions,
      seed: 0,
      defects: "lesion,hole",
    });
    expect(new Set(set.kinds.filter((k) => k !== "good"))).toEqual(new Set(["lesion", "hole"]));
    await expect(
      buildSyntheticValidation(validation, { ...setOptions, seed: 0, defects: "lesion,crack" }),
    ).rejects.toThrow(/--synthetic-defects: unknown defect kind "crack"/);
  });

  it("pasted defects lie in their masks: no change farther than 2 px from the mask, most change inside it", () => {
    for (const size of [32, 64]) {
      for (const channels of [1, 3] as const) {
        for (let seed = 0; seed < 6; seed++) {
          const rng = new Random(seed);
          const base =
            seed % 2 === 0
              ? generateIndustrialImage(rng, { size, channels, style: industrialStyle(rng) }, "good").image
              : generateMedicalImage(rng, { size, channels }, "good").image;
          for (const kind of pastedDefectKinds) {
            const before = base.data.slice();
            const { image, mask } = pasteDefect(new Random(100 + seed), base, kind);
            expect(base.data).toEqual(before);
            const plane = size * size;
            const masked = (x: number, y: number) => mask.data[y * size + x] === 1;
            let inside = 0;
            let total = 0;
            let area = 0;
            for (let i = 0; i < plane; i++) {
              let change = 0;
              for (let c = 0; c < channels; c++)
                change = Math.max(change, Math.abs(image.data[c * plane + i] - base.data[c * plane + i]));
              total += change;
              if (mask.data[i] === 1) {
                inside += change;
                area++;
              } else if (change > 0) {
                const x = i % size;
                const y = Math.floor(i / size);
                let near = false;
                for (let v = Math.max(0, y - 2); v <= Math.min(size - 1, y + 2); v++)
                  for (let u = Math.max(0, x - 2); u <= Math.min(size - 1, x + 2); u++) near ||= masked(u, v);
                expect(near, `${kind} changed (${x}, ${y}) far from its mask`).toBe(true);
              }
            }
            expect(area).toBeGreaterThanOrEqual(4);
            expect(inside / total, kind).toBeGreaterThan(0.4);
          }
        }
      }
    }
  });
});

describe("training with --select synthetic", () => {
  const base = {
    method: "ae",
    epochs: 4,
    batchSize: 8,
    imageSize: 32,
    quiet: true,
    select: "synthetic" as const,
    thresholdRule: "synthetic-f1" as const,
  };
  let straight: { out: string; epochs: string; result: Awaited<ReturnType<typeof train>>; decoded: string[] };

  beforeAll(async () => {
    const out = join(tempDir("selection-model"), "m");
    const epochs = join(tempDir("selection-epochs"), "e");
    decoded.length = 0;
    const result = await train({
      ...base,
      data,
      out,
      onEpochEnd: (epoch) => copyFileSync(join(out, "checkpoint.safetensors"), `${epochs}-${epoch + 1}`),
    });
    straight = { out, epochs, result, decoded: [...decoded] };
  }, 120_000);

  it("never decodes a test image during training, selection or calibration", async () => {
    const { test, validation } = await loadDataset(data, { seed: 0 });
    const testPaths = new Set(test.flatMap((s) => [s.path, ...s.maskPaths]));
    expect(test.length).toBeGreaterThan(0);
    expect(straight.decoded.filter((p) => testPaths.has(p))).toEqual([]);
    // The instrument sees the reads that do happen: every validation image.
    for (const s of validation) expect(straight.decoded).toContain(s.path);
  });

  it("saves exactly the weights of the selected epoch", async () => {
    const { out, epochs, result } = straight;
    const selection = result.manifest.selection!;
    expect(selection.criterion).toBe("synthetic");
    expect(selection.curve.map((p) => p.epoch)).toEqual([1, 2, 3, 4]);
    const best = Math.max(...selection.curve.map((p) => p.imageAuroc));
    expect(selection.selectedEpoch).toBe(selection.curve.find((p) => p.imageAuroc === best)!.epoch);
    // With this seed the synthetic AUROC peaks before the last epoch, so the choice matters here.
    expect(selection.selectedEpoch).toBeLessThan(4);
    expect(result.manifest.thresholds.image.rule).toBe("f1-max-synthetic-validation");

    const saved = (await readSafetensors(join(out, "model.safetensors"))).tensors;
    const snapshot = (await readSafetensors(`${epochs}-${selection.selectedEpoch}`)).tensors;
    const last = (await readSafetensors(`${epochs}-4`)).tensors;
    const names = Object.keys(saved);
    expect(names.length).toBeGreaterThan(0);
    let differsFromLast = false;
    for (const name of names) {
      expect(
        Buffer.from(saved[name].data.buffer).equals(Buffer.from(snapshot[`model.${name}`].data.buffer)),
      ).toBe(true);
      differsFromLast ||= !Buffer.from(saved[name].data.buffer).equals(
        Buffer.from(last[`model.${name}`].data.buffer),
      );
    }
    expect(differsFromLast).toBe(true);
  });

  it("a run stopped after epoch 3 and resumed keeps the earlier selected epoch's weights from the checkpoint", async () => {
    const stopped = join(tempDir("selection-stopped"), "m");
    await expect(
      train({
        ...base,
        data,
        out: stopped,
        onEpochEnd: (epoch) => {
          if (epoch === 2) throw new Error("stop after epoch 3");
        },
      }),
    ).rejects.toThrow("stop after epoch 3");
    const resumed = await train({ ...base, data, out: stopped, resume: true });
    const full = straight.result;
    // The choice falls before the stop, so the kept weights had to come back from the checkpoint.
    expect(full.manifest.selection!.selectedEpoch).toBeLessThan(3);
    expect(resumed.manifest.selection).toEqual(full.manifest.selection);
    const a = (await readSafetensors(join(straight.out, "model.safetensors"))).tensors;
    const b = (await readSafetensors(join(stopped, "model.safetensors"))).tensors;
    for (const name of Object.keys(a))
      expect(Buffer.from(b[name].data.buffer).equals(Buffer.from(a[name].data.buffer))).toBe(true);
    await expect(train({ ...base, data, out: stopped, resume: true, select: "last" })).rejects.toThrow(
      /--resume: the checkpoint was trained with --select synthetic, not last/,
    );
  }, 120_000);

  it("--select labelled selects on the validation split's own anomalies (BMAD valid/ with masks)", async () => {
    const bmad = join(tempDir("selection-bmad"), "synth");
    await generateDataset({
      out: bmad,
      kind: "medical",
      layout: "bmad",
      nTrain: 24,
      nTest: 20,
      size: 32,
      seed: 1,
    });
    const { validation } = await loadDataset(bmad, { seed: 0 });
    const result = await train({
      data: bmad,
      method: "ae",
      epochs: 2,
      batchSize: 8,
      imageSize: 32,
      out: join(tempDir("selection-labelled"), "m"),
      quiet: true,
      select: "labelled",
    });
    const selection = result.manifest.selection!;
    expect(selection.set).toMatchObject({
      source: "labelled",
      normal: validation.filter((s) => s.label === 0).length,
      anomalous: validation.filter((s) => s.label === 1).length,
      seed: null,
    });
    expect(selection.set!.anomalous).toBeGreaterThan(0);
    expect(selection.curve).toHaveLength(2);
    expect(selection.curve.every((p) => p.pixelAuroc !== null)).toBe(true);
    // The criterion's AUROC on the labelled set is the one the trainer reports for the validation split.
    expect(selection.curve.map((p) => p.imageAuroc)).toEqual(result.history.map((h) => h.validationAuroc));
  }, 60_000);

  it("--early-stopping follows the selection criterion, not the normal validation score", async () => {
    const result = await train({
      data,
      method: "ae",
      epochs: 8,
      batchSize: 8,
      imageSize: 32,
      out: join(tempDir("selection-early"), "m"),
      quiet: true,
      select: "synthetic",
      earlyStoppingPatience: 1,
    });
    const aurocs = result.history.map((h) => h.selection!.imageAuroc);
    const normalScores = result.history.map((h) => h.validationNormalScore);
    // Stopped at the first epoch that did not beat the best synthetic AUROC before it...
    const firstStall = aurocs.findIndex((v, i) => i > 0 && v <= Math.max(...aurocs.slice(0, i)));
    expect(firstStall).toBeGreaterThan(0);
    expect(result.epochsRun).toBe(firstStall + 1);
    expect(result.epochsRun).toBeLessThan(8);
    // ...while the normal validation score was still improving every epoch (the old criterion would go on).
    for (let i = 1; i < normalScores.length; i++) expect(normalScores[i]).toBeLessThan(normalScores[i - 1]);
  }, 60_000);

  it("refuses --select labelled when validation has no anomalies, and unknown criteria", async () => {
    const base = { data, method: "ae", epochs: 1, batchSize: 8, imageSize: 32, quiet: true };
    await expect(train({ ...base, out: tempDir("labelled"), select: "labelled" })).rejects.toThrow(
      /--select labelled: the validation split of .* has no anomalous images/,
    );
    await expect(train({ ...base, out: tempDir("bad"), select: "best" as never })).rejects.toThrow(
      OptionError,
    );
  });
});

/** A module with one parameter whose value the test sets between epochs. */
class Weights extends Module {
  readonly w = this.parameter("w", [3], new Float32Array(3));
}

/** A stand-in scorer whose image scores give the validation AUROC the test wants for each call. */
function scriptedScorer(aurocs: number[]): Scorer {
  let call = 0;
  return {
    scoreBatch: async (_images: Float32Array, n: number) => {
      // Two normals scoring 0.5; the two anomalies give AUROC 1 (both above), 0.75 (one above, one
      // tied) or 0.5 (one above, one below).
      const target = aurocs[call++];
      const anomalies = { 1: [1, 0.6], 0.75: [0.6, 0.5], 0.5: [0.6, 0] }[target as 1 | 0.75 | 0.5];
      const scores = new Float32Array(n);
      scores.set([0.5, 0.5, ...anomalies]);
      return { scores, maps: new Float32Array(n * 4) };
    },
  } as unknown as Scorer;
}

function tinySet(): ValidationSet {
  return {
    source: "synthetic",
    count: 4,
    size: 2,
    channels: 1,
    images: new Float32Array(16),
    masks: new Float32Array([0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0]),
    hasMask: [true, true, true, true],
    labels: [0, 0, 1, 1],
    kinds: ["good", "good", "hole", "hole"],
    defects: ["hole"],
    seed: 0,
  };
}

describe("EpochSelector", () => {
  it("keeps the first best epoch's weights, restores them, and resumes from checkpoint tensors", async () => {
    const module = new Weights();
    const modules = { net: module };
    const selector = new EpochSelector("synthetic", tinySet());
    const scorer = scriptedScorer([0.5, 1, 0.75, 1]);
    const values = [
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
      [10, 11, 12],
    ];
    const improved: boolean[] = [];
    for (let epoch = 0; epoch < 4; epoch++) {
      module.w.value = new Float32Array(values[epoch]);
      improved.push((await selector.afterEpoch(epoch, scorer, modules, 4))!.improved);
      if (epoch === 1) values[1][0] = -1; // later changes to the host array must not reach the kept copy
    }
    expect(selector.checkpointState().curve.map((p) => p.imageAuroc)).toEqual([0.5, 1, 0.75, 1]);
    expect(improved).toEqual([true, true, false, false]);
    expect(selector.bestEpoch).toBe(2);

    const resumed = new EpochSelector("synthetic", tinySet());
    const copy = new Weights();
    resumed.resume(
      "checkpoint",
      JSON.parse(JSON.stringify(selector.checkpointState())),
      selector.checkpointTensors(modules),
      { net: copy },
    );
    selector.restoreSelected(modules, 4);
    expect([...module.w.value]).toEqual([4, 5, 6]);
    copy.w.value = new Float32Array([0, 0, 0]);
    resumed.restoreSelected({ net: copy }, 4);
    expect([...copy.w.value]).toEqual([4, 5, 6]);
    expect(resumed.record(4).selectedEpoch).toBe(2);
    expect(() =>
      new EpochSelector("last", null).resume("c", selector.checkpointState(), {}, modules),
    ).toThrow(/--resume: the checkpoint was trained with --select synthetic, not last/);
  });
});
