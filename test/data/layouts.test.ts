/** Every layout from generated files: detection, indexing, masks, typed errors for bad roots. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectLayout, loadDataset, summarize } from "../../src/data/index.js";
import { OptionError, UserError } from "../../src/errors.js";
import { names, png, pngs, tempDir } from "./helpers.js";

async function mvtecCategory(root: string): Promise<void> {
  await pngs(root, "train/good", names(10));
  await pngs(root, "test/good", names(3));
  await pngs(root, "test/crack", names(2));
  await pngs(root, "ground_truth/crack", ["000_mask.png", "001_mask.png"]);
}

describe("MVTec AD", () => {
  it("indexes a category root with _mask masks and carves validation", async () => {
    const root = join(tempDir(), "bottle");
    await mvtecCategory(root);
    expect(await detectLayout(root)).toBe("mvtec");
    const ds = await loadDataset(root);
    expect(ds).toMatchObject({ layout: "mvtec", detected: true });
    expect(ds.notes).toContain("category bottle");
    expect(ds.train.length).toBe(9);
    expect(ds.validation.length).toBe(1);
    expect(ds.test.map((s) => [s.label, s.defectType, s.maskPaths.length])).toEqual([
      [1, "crack", 1],
      [1, "crack", 1],
      [0, "good", 0],
      [0, "good", 0],
      [0, "good", 0],
    ]);
    expect(ds.test[0].maskPaths[0]).toBe(join(root, "ground_truth/crack/000_mask.png"));
    expect(summarize(ds)).toEqual({
      layout: "mvtec",
      train: { total: 9, normal: 9, anomalous: 0, withMasks: 0, defectTypes: { good: 9 }, groups: 0 },
      validation: { total: 1, normal: 1, anomalous: 0, withMasks: 0, defectTypes: { good: 1 }, groups: 0 },
      test: {
        total: 5,
        normal: 3,
        anomalous: 2,
        withMasks: 2,
        defectTypes: { crack: 2, good: 3 },
        groups: 0,
      },
      excluded: 0,
      duplicateGroups: 0,
      redundantCopies: 0,
    });
  });

  it("picks a category from a root holding several, and asks for --category otherwise", async () => {
    const root = tempDir();
    await mvtecCategory(join(root, "bottle"));
    await mvtecCategory(join(root, "cable"));
    expect(await detectLayout(root)).toBe("mvtec");
    const ds = await loadDataset(root, { category: "cable" });
    expect(ds.train[0].path.startsWith(join(root, "cable"))).toBe(true);
    await expect(loadDataset(root)).rejects.toThrow(OptionError);
    await expect(loadDataset(root)).rejects.toThrow(/bottle, cable.*--category/);
    await expect(loadDataset(root, { category: "zipper" })).rejects.toThrow(/zipper: not found/);
  });
});

describe("MVTec 3D-AD", () => {
  it("reads rgb images, its own validation split, gt masks; good masks ignored", async () => {
    const root = join(tempDir(), "tire");
    await pngs(root, "train/good/rgb", names(4));
    await pngs(root, "validation/good/rgb", names(2));
    await pngs(root, "test/good/rgb", names(2));
    await pngs(root, "test/good/gt", names(2));
    await pngs(root, "test/cut/rgb", names(3));
    await pngs(root, "test/cut/gt", names(3));
    expect(await detectLayout(root)).toBe("mvtec3d");
    const ds = await loadDataset(root);
    expect([ds.train.length, ds.validation.length, ds.test.length]).toEqual([4, 2, 5]);
    expect(ds.test.filter((s) => s.defectType === "good").every((s) => s.maskPaths.length === 0)).toBe(true);
    expect(ds.test.find((s) => s.defectType === "cut")!.maskPaths).toEqual([
      join(root, "test/cut/gt/000.png"),
    ]);
  });
});

describe("MVTec LOCO", () => {
  it("accepts masks as <stem>.png and as <stem>/000.png, 001.png (all recorded)", async () => {
    const root = join(tempDir(), "juice_bottle");
    await pngs(root, "train/good", names(5));
    await pngs(root, "validation/good", names(2));
    await pngs(root, "test/good", names(2));
    await pngs(root, "test/logical_anomalies", names(2));
    await pngs(root, "ground_truth/logical_anomalies/000", ["000.png", "001.png"]);
    await pngs(root, "ground_truth/logical_anomalies", ["001.png"]);
    expect(await detectLayout(root)).toBe("loco");
    const ds = await loadDataset(root);
    expect(ds.validation.length).toBe(2);
    const [first, second] = ds.test.filter((s) => s.label === 1);
    expect(first.maskPaths).toEqual([
      join(root, "ground_truth/logical_anomalies/000/000.png"),
      join(root, "ground_truth/logical_anomalies/000/001.png"),
    ]);
    expect(second.maskPaths).toEqual([join(root, "ground_truth/logical_anomalies/001.png")]);
  });

  it("is told apart from MVTec AD by masks without _mask even without validation/", async () => {
    const root = tempDir();
    await pngs(root, "train/good", names(3));
    await pngs(root, "test/structural_anomalies", names(1));
    await pngs(root, "ground_truth/structural_anomalies", names(1));
    expect(await detectLayout(root)).toBe("loco");
  });
});

describe("BMAD", () => {
  it("pixel-labelled variant with img/ and anomaly_mask/", async () => {
    const root = tempDir();
    await pngs(root, "train/good/img", names(6));
    for (const split of ["valid", "test"]) {
      await pngs(root, `${split}/good/img`, names(2, split));
      await pngs(root, `${split}/Ungood/img`, names(2, split));
      await pngs(root, `${split}/Ungood/anomaly_mask`, names(2, split));
    }
    expect(await detectLayout(root)).toBe("bmad");
    const ds = await loadDataset(root);
    expect([ds.train.length, ds.validation.length, ds.test.length]).toEqual([6, 4, 4]);
    const ungood = ds.test.filter((s) => s.label === 1);
    expect(ungood.map((s) => s.maskPaths)).toEqual([
      [join(root, "test/Ungood/anomaly_mask/test000.png")],
      [join(root, "test/Ungood/anomaly_mask/test001.png")],
    ]);
    expect(ds.notes).toContain("pixel masks");
  });

  it("image-label variant without img/", async () => {
    const root = tempDir();
    await pngs(root, "train/good", names(4));
    await pngs(root, "test/good", names(2, "g"));
    await pngs(root, "test/Ungood", names(3, "u"));
    expect(await detectLayout(root)).toBe("bmad");
    const ds = await loadDataset(root);
    expect(ds.test.filter((s) => s.label === 1).length).toBe(3);
    expect(ds.test.every((s) => s.maskPaths.length === 0)).toBe(true);
    expect(ds.notes).toContain("image labels only");
  });
});

describe("CSV manifest", () => {
  it("reads path,label,mask,split,group relative to the CSV, with excluded rows and 0/1 labels", async () => {
    const root = tempDir();
    const rows = ["path,label,mask,split,group"];
    for (let i = 0; i < 6; i++) {
      await png(root, `p${i % 3}/img${i}.png`);
      await png(root, `p${i % 3}/img${i}_mask.png`);
      const split = i < 3 ? "train" : "test";
      rows.push(`p${i % 3}/img${i}.png,${i === 4 ? 1 : 0},p${i % 3}/img${i}_mask.png,${split},P${i % 3}`);
    }
    await png(root, "x/bad.png");
    rows.push('"x/bad.png",anomalous,,excluded,P9');
    writeFileSync(join(root, "manifest.csv"), `${rows.join("\r\n")}\r\n`);
    expect(await detectLayout(root)).toBe("manifest");
    expect(await detectLayout(join(root, "manifest.csv"))).toBe("manifest");
    const ds = await loadDataset(root, { validationFraction: 0 });
    expect(ds.train.map((s) => s.group)).toEqual(["P0", "P1", "P2"]);
    expect(ds.test.map((s) => s.label)).toEqual([0, 1, 0]);
    expect(ds.excluded.map((s) => s.path)).toEqual([join(root, "x/bad.png")]);
    expect(ds.test[1].maskPaths).toEqual([join(root, "p1/img4_mask.png")]);
  });

  it("labels.csv without a split column gets the split rules; bad rows are typed errors", async () => {
    const root = tempDir();
    const rows = ["path,label,source_file"];
    for (let i = 0; i < 10; i++)
      rows.push(`${(await png(root, `n/${i}.png`)).slice(root.length + 1)},normal,x`);
    for (let i = 0; i < 4; i++)
      rows.push(`${(await png(root, `a/${i}.png`)).slice(root.length + 1)},abnormal,x`);
    writeFileSync(join(root, "labels.csv"), rows.join("\n"));
    const ds = await loadDataset(root);
    expect(ds.test.filter((s) => s.label === 1).length).toBe(4);
    expect(ds.test.filter((s) => s.label === 0).length).toBe(3);
    expect(ds.train.length + ds.validation.length).toBe(7);
    writeFileSync(join(root, "labels.csv"), "path,label\nn/0.png,maybe\n");
    await expect(loadDataset(root)).rejects.toThrow(/row 2: label "maybe"/);
    writeFileSync(join(root, "labels.csv"), "path,label\nn/missing.png,normal\n");
    await expect(loadDataset(root)).rejects.toThrow(/missing\.png: missing/);
  });
});

describe("plain folders", () => {
  it("train/<normal> + test/<class>, case-insensitive names (chest X-ray style)", async () => {
    const root = tempDir();
    await pngs(root, "train/NORMAL", names(10));
    await pngs(root, "test/NORMAL", names(3));
    await pngs(root, "test/PNEUMONIA", names(4));
    expect(await detectLayout(root)).toBe("folders");
    const ds = await loadDataset(root);
    expect([ds.train.length, ds.validation.length]).toEqual([9, 1]);
    expect(ds.test.map((s) => s.label).sort()).toEqual([0, 0, 0, 1, 1, 1, 1]);
  });

  it("flat <normal>/ + <anomalous>/ folders get a seeded split; unknown class names are errors", async () => {
    const root = tempDir();
    await pngs(root, "normal", names(20));
    await pngs(root, "abnormal", names(5));
    expect(await detectLayout(root)).toBe("folders");
    const ds = await loadDataset(root, { seed: 3 });
    expect(ds.test.filter((s) => s.label === 0).length).toBe(6);
    expect(ds.train.length + ds.validation.length).toBe(14);
    const other = tempDir();
    await pngs(other, "train/good", names(2));
    await pngs(other, "test/good", names(1));
    await pngs(other, "test/weird", names(1));
    await expect(loadDataset(other, { layout: "folders" })).rejects.toThrow(/weird: folder name is neither/);
  });

  it("explicit --normal/--abnormal folders with masks matched by stem, with or without _mask", async () => {
    const root = tempDir();
    await pngs(root, "ok", names(10));
    await pngs(root, "bad", ["a.png", "b.png", "c.png"]);
    await pngs(root, "masks", ["a_mask.png", "b.png"]);
    const ds = await loadDataset(undefined, {
      normal: [join(root, "ok")],
      abnormal: [join(root, "bad")],
      masks: join(root, "masks"),
    });
    expect(ds).toMatchObject({ layout: "folders", detected: false });
    const bad = ds.test.filter((s) => s.label === 1);
    expect(bad.map((s) => s.maskPaths.map((m) => m.slice(root.length + 1)))).toEqual([
      ["masks/a_mask.png"],
      ["masks/b.png"],
      [],
    ]);
    await expect(loadDataset(undefined, { normal: [join(root, "ok")] })).rejects.toThrow(OptionError);
  });
});

describe("bad roots", () => {
  it("missing, empty and unrecognised folders give a UserError naming the folder", async () => {
    const root = tempDir();
    await expect(loadDataset(join(root, "nope"))).rejects.toThrow(UserError);
    await expect(loadDataset(join(root, "nope"))).rejects.toThrow(/nope: dataset folder does not exist/);
    mkdirSync(join(root, "empty"));
    await expect(detectLayout(join(root, "empty"))).rejects.toThrow(/empty: dataset folder is empty/);
    await pngs(root, "misc/stuff", names(2));
    await expect(loadDataset(join(root, "misc"))).rejects.toThrow(
      /misc: no known dataset layout found \(expected/,
    );
    await expect(loadDataset(undefined)).rejects.toThrow(OptionError);
    await expect(loadDataset(root, { layout: "imagenet" as never })).rejects.toThrow(
      /--layout imagenet: unknown/,
    );
  });

  it("a matching layout with no images is a UserError", async () => {
    const root = tempDir();
    mkdirSync(join(root, "train/good"), { recursive: true });
    mkdirSync(join(root, "test/good"), { recursive: true });
    await expect(loadDataset(root)).rejects.toThrow(/holds no images/);
  });
});
