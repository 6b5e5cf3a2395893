/** Per-split counts of the real data sets in ../shared/data against the tables in its README. */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadDataset, parseCsv, summarize } from "../../src/data/index.js";

const repoRoot = resolve(import.meta.dirname, "../..");
const dataRoot = resolve(repoRoot, "../shared/data");
const present = existsSync(dataRoot);
if (!present) console.warn(`SKIPPED real-data tests: ${dataRoot} not found`);

const byType = (samples: { defectType?: string }[]) => {
  const counts: Record<string, number> = {};
  for (const s of samples) counts[s.defectType ?? "?"] = (counts[s.defectType ?? "?"] ?? 0) + 1;
  return counts;
};

describe.skipIf(!present)("real data sets (README counts)", () => {
  it("mvtec3d_tire: own validation split, test per type, good masks ignored", async () => {
    const ds = await loadDataset(join(dataRoot, "industrial/mvtec3d_tire"));
    expect(ds.layout).toBe("mvtec3d");
    expect(ds.detected).toBe(true);
    expect(ds.notes).toContain("category mvtec3d_tire");
    expect(ds.train.length).toBe(210);
    expect(ds.validation.length).toBe(29);
    expect(byType(ds.test)).toEqual({ combined: 5, contamination: 28, cut: 27, good: 25, hole: 27 });
    expect(ds.test.filter((s) => s.maskPaths.length === 1).length).toBe(87);
    expect(ds.duplicates).toEqual([]);
  });

  it("magnetic_tile: MVTec AD layout with _mask masks", async () => {
    const ds = await loadDataset(join(dataRoot, "industrial/magnetic_tile"), { seed: 1 });
    expect(ds.layout).toBe("mvtec");
    expect(ds.train.length + ds.validation.length).toBe(400);
    expect(ds.validation.length).toBe(40);
    expect(byType(ds.test)).toEqual({ blowhole: 115, break: 85, crack: 57, fray: 32, good: 190, uneven: 99 });
    const anomalous = ds.test.filter((s) => s.label === 1);
    expect(anomalous.every((s) => s.maskPaths.length === 1 && s.maskPaths[0].endsWith("_mask.png"))).toBe(
      true,
    );
    expect(anomalous.length).toBe(388);
  });

  it("lgg_brain_mri: manifest splits, excluded slices not in train, no patient in train and test", async () => {
    const ds = await loadDataset(join(dataRoot, "medical/lgg_brain_mri"));
    expect(ds.layout).toBe("manifest");
    const s = summarize(ds);
    expect(s.train.normal + s.validation.normal).toBe(317);
    expect(s.train.anomalous + s.validation.anomalous).toBe(0);
    expect(s.test).toMatchObject({ normal: 160, anomalous: 109 });
    expect(s.excluded).toBe(135);
    expect(s.train.groups + s.validation.groups).toBe(13);
    expect(s.test.groups).toBe(6);
    const excluded = new Set(ds.excluded.map((x) => x.path));
    expect(ds.train.some((x) => excluded.has(x.path))).toBe(false);
    const trainPatients = new Set([...ds.train, ...ds.validation].map((x) => x.group));
    expect(ds.test.filter((x) => trainPatients.has(x.group))).toEqual([]);
    const validationPatients = new Set(ds.validation.map((x) => x.group));
    expect(ds.train.filter((x) => validationPatients.has(x.group))).toEqual([]);
    expect(ds.test.filter((x) => x.label === 1).every((x) => x.maskPaths.length === 1)).toBe(true);
  });

  it("brain_tumor_yesno: 25 byte-identical duplicates found and dropped, seeded split", async () => {
    const root = join(dataRoot, "medical/brain_tumor_yesno");
    const ds = await loadDataset(root, { seed: 7 });
    expect(ds.layout).toBe("manifest");
    const rows = parseCsv(readFileSync(join(root, "labels.csv"), "utf8")).slice(1);
    const flagged = rows.filter((r) => r[4] !== "").map((r) => join(root, r[0]));
    expect(flagged.length).toBe(25);
    const dropped = ds.duplicates.flatMap((g) => g.slice(1));
    expect(dropped.sort()).toEqual(flagged.sort());
    const kept = [...ds.train, ...ds.validation, ...ds.test];
    expect(kept.length).toBe(253 - 25);
    expect(kept.filter((s) => s.label === 1).length).toBe(155 - 14);
    expect(ds.test.filter((s) => s.label === 1).length).toBe(141);
    expect([...ds.train, ...ds.validation].every((s) => s.label === 0)).toBe(true);
    const normals = 98 - 11;
    expect(ds.test.filter((s) => s.label === 0).length).toBe(Math.round(0.3 * normals));
    const again = await loadDataset(root, { seed: 7 });
    expect(again.test.map((s) => s.path)).toEqual(ds.test.map((s) => s.path));
    const viaFolders = await loadDataset(root, { layout: "folders", seed: 7 });
    expect(viaFolders.duplicates).toEqual(ds.duplicates);
  });

  it("chest_xray_zhanglab: labels.csv and class folders agree", async () => {
    const root = join(dataRoot, "medical/chest_xray_zhanglab");
    for (const layout of [undefined, "folders"] as const) {
      const ds = await loadDataset(root, { layout });
      expect(ds.layout).toBe(layout ?? "manifest");
      expect(ds.train.length + ds.validation.length).toBe(600);
      expect(ds.train.length).toBe(540);
      expect(ds.test.filter((s) => s.label === 0).length).toBe(234);
      expect(ds.test.filter((s) => s.label === 1).length).toBe(390);
      expect(ds.duplicates.flat().every((p) => p.includes("/test/"))).toBe(true);
      expect(ds.notes.some((n) => n.includes("kept inside the data set's own test split"))).toBe(true);
    }
  });
});
