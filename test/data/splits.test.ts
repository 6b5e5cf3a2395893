/** Group-aware, seeded splits and duplicate handling. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  carveValidation,
  groupKey,
  loadDataset,
  type Sample,
  splitUnassigned,
} from "../../src/data/index.js";
import { Random } from "../../src/util/random.js";
import { names, png, pngs, tempDir } from "./helpers.js";

function samples(count: number, groups: number, anomalousEvery = 0): Sample[] {
  return Array.from({ length: count }, (_, i) => ({
    path: `/d/${i}.png`,
    label: anomalousEvery > 0 && i % anomalousEvery === 0 ? 1 : 0,
    maskPaths: [],
    group: `g${i % groups}`,
  }));
}

const groupsOf = (list: Sample[]) => new Set(list.map(groupKey));
const shared = (a: Sample[], b: Sample[]) => [...groupsOf(a)].filter((g) => groupsOf(b).has(g));

describe("split rules", () => {
  it("validation carving keeps whole groups and is deterministic per seed", () => {
    const train = samples(200, 23);
    const a = carveValidation(train, 0.1, new Random(5));
    const b = carveValidation(train, 0.1, new Random(5));
    const c = carveValidation(train, 0.1, new Random(6));
    expect(shared(a.train, a.validation)).toEqual([]);
    expect(a.validation.length).toBeGreaterThanOrEqual(20);
    expect(a.validation.length + a.train.length).toBe(200);
    expect(b.validation).toEqual(a.validation);
    expect(c.validation.map((s) => s.path)).not.toEqual(a.validation.map((s) => s.path));
  });

  it("unassigned split: groups with anomalies go to test whole, no group on both sides, no anomaly in train", () => {
    const data = samples(300, 40, 37);
    for (const seed of [0, 1, 2, 3]) {
      const { train, test } = splitUnassigned(data, 0.3, new Random(seed));
      expect(shared(train, test)).toEqual([]);
      expect(train.every((s) => s.label === 0)).toBe(true);
      expect(test.filter((s) => s.label === 1).length).toBe(data.filter((s) => s.label === 1).length);
      expect(train.length + test.length).toBe(300);
      expect(splitUnassigned(data, 0.3, new Random(seed))).toEqual({ train, test });
    }
  });

  it("--group-regex keeps each patient on one side of every split made by loadDataset", async () => {
    const root = tempDir();
    for (let p = 0; p < 12; p++) await pngs(root, "normal", names(5, `patient${p}_slice`));
    for (let p = 0; p < 3; p++) await pngs(root, "abnormal", names(2, `patient${p}_slice`));
    const ds = await loadDataset(root, {
      groupRegex: /(patient\d+)_slice/,
      seed: 11,
      validationFraction: 0.2,
    });
    expect(ds.train.every((s) => s.group?.startsWith("patient"))).toBe(true);
    expect(shared(ds.train, ds.test)).toEqual([]);
    expect(shared(ds.train, ds.validation)).toEqual([]);
    expect(shared(ds.validation, ds.test)).toEqual([]);
    for (let p = 0; p < 3; p++) expect(groupsOf(ds.test).has(`patient${p}`)).toBe(true);
    const again = await loadDataset(root, {
      groupRegex: "(patient\\d+)_slice",
      seed: 11,
      validationFraction: 0.2,
    });
    expect(again.validation.map((s) => s.path)).toEqual(ds.validation.map((s) => s.path));
    await expect(loadDataset(root, { groupRegex: "(" })).rejects.toThrow(/--group-regex/);
  });
});

describe("duplicates", () => {
  it("byte-identical files are reported and never end up in two splits", async () => {
    const root = tempDir();
    await pngs(root, "normal", names(12));
    await png(root, "normal/copy_a.png", 7);
    await png(root, "normal/copy_b.png", 7);
    await png(root, "abnormal/x.png", 9);
    await png(root, "abnormal/y.png", 9);
    await png(root, "abnormal/z.png", 9);
    const ds = await loadDataset(root);
    expect(ds.duplicates).toEqual([
      [join(root, "abnormal/x.png"), join(root, "abnormal/y.png"), join(root, "abnormal/z.png")],
      [join(root, "normal/copy_a.png"), join(root, "normal/copy_b.png")],
    ]);
    const all = [...ds.train, ...ds.validation, ...ds.test].map((s) => s.path);
    expect(all).toContain(join(root, "normal/copy_a.png"));
    expect(all).not.toContain(join(root, "normal/copy_b.png"));
    expect(all.filter((p) => p.includes("abnormal"))).toEqual([join(root, "abnormal/x.png")]);
    expect((await loadDataset(root, { dedupe: false })).duplicates).toEqual([]);
  });

  it("a train file identical to a test file is dropped from train", async () => {
    const root = tempDir();
    await pngs(root, "train/good", names(5));
    await png(root, "train/good/leak.png", 3);
    await png(root, "test/good/leak.png", 3);
    await pngs(root, "test/bad", names(1));
    writeFileSync(join(root, "notes.txt"), "not an image");
    const ds = await loadDataset(root, { validationFraction: 0 });
    expect(ds.train.map((s) => s.path)).not.toContain(join(root, "train/good/leak.png"));
    expect(ds.test.map((s) => s.path)).toContain(join(root, "test/good/leak.png"));
  });
});
