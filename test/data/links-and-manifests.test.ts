/**
 * Data correctness (issue 24): symbolically linked category folders, class folders and image files are
 * indexed like real ones, a link cycle ends the recursive walk, and a manifest row with too few fields
 * or an unterminated quote is an error naming the file, the row and what is wrong.
 */
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expandInputs } from "../../src/api/files.js";
import { loadDataset } from "../../src/data/index.js";
import { png, pngs, tempDir } from "./helpers.js";

/** An MVTec category with 10 train images and 2+2 test images under `root/name`. */
async function category(root: string, name: string): Promise<void> {
  await pngs(
    root,
    `${name}/train/good`,
    Array.from({ length: 10 }, (_, i) => `${i}.png`),
  );
  await pngs(root, `${name}/test/good`, ["0.png", "1.png"]);
  await pngs(root, `${name}/test/crack`, ["0.png", "1.png"]);
  await pngs(root, `${name}/ground_truth/crack`, ["0_mask.png", "1_mask.png"]);
}

describe("symbolic links", () => {
  it("a linked category folder is found and indexed", async () => {
    const store = tempDir();
    await category(store, "bottle");
    const root = tempDir();
    symlinkSync(join(store, "bottle"), join(root, "bottle"));
    const ds = await loadDataset(root, { category: "bottle" });
    expect(ds.layout).toBe("mvtec");
    expect(ds.train.length + ds.validation.length).toBe(10);
    expect(ds.test.filter((s) => s.label === 1).map((s) => s.maskPaths.length)).toEqual([1, 1]);
  });

  it("linked class folders and linked image files count like real ones", async () => {
    const store = tempDir();
    await category(store, "real");
    const root = tempDir();
    mkdirSync(join(root, "cat/train"), { recursive: true });
    mkdirSync(join(root, "cat/test/good"), { recursive: true });
    symlinkSync(join(store, "real/train/good"), join(root, "cat/train/good"));
    symlinkSync(join(store, "real/test/crack"), join(root, "cat/test/crack"));
    symlinkSync(join(store, "real/ground_truth"), join(root, "cat/ground_truth"));
    for (const name of ["0.png", "1.png"])
      symlinkSync(join(store, "real/test/good", name), join(root, "cat/test/good", name));
    symlinkSync(join(root, "missing.png"), join(root, "cat/test/good/broken.png"));
    const ds = await loadDataset(join(root, "cat"));
    expect(ds.train.length + ds.validation.length).toBe(10);
    expect(ds.test.map((s) => s.label).sort()).toEqual([0, 0, 1, 1]);
  });

  it("predict follows linked folders and stops at a link cycle", async () => {
    const root = tempDir();
    await pngs(root, "images/a", ["0.png", "1.png"]);
    const store = tempDir();
    await pngs(store, "more", ["2.png"]);
    symlinkSync(join(store, "more"), join(root, "images/linked"));
    symlinkSync(join(root, "images"), join(root, "images/a/loop"));
    const files = await expandInputs([join(root, "images")]);
    expect(files.map((f) => f.slice(root.length + 1))).toEqual([
      "images/a/0.png",
      "images/a/1.png",
      "images/linked/2.png",
    ]);
  });
});

describe("manifest rows", () => {
  async function manifestRoot(lines: string[]): Promise<string> {
    const root = tempDir();
    for (let i = 0; i < 6; i++) await png(root, `n/${i}.png`);
    for (let i = 0; i < 2; i++) await png(root, `a/${i}.png`);
    writeFileSync(join(root, "manifest.csv"), lines.join("\n"));
    return root;
  }

  const rows = [
    "path,label,split",
    ...Array.from({ length: 6 }, (_, i) => `n/${i}.png,normal,train`),
    "a/0.png,anomalous,test",
  ];

  it("a row with too few fields names the row and the header", async () => {
    const root = await manifestRoot([...rows, "a/1.png,test"]);
    await expect(loadDataset(root)).rejects.toThrow(
      /manifest\.csv row 9: 2 fields, the header has 3 \(path,label,split\)/,
    );
  });

  it("an unterminated quote names the line it opened on", async () => {
    const root = await manifestRoot([...rows.slice(0, 4), '"n/3.png,normal,train', ...rows.slice(5)]);
    await expect(loadDataset(root)).rejects.toThrow(/manifest\.csv line 5: unterminated quote/);
  });

  it("a quoted field with a line break keeps later row numbers and names the line", async () => {
    const root = await manifestRoot([
      "path,label,split,group",
      'n/0.png,normal,train,"patient',
      '1"',
      "n/1.png,maybe,train,2",
    ]);
    await expect(loadDataset(root)).rejects.toThrow(/manifest\.csv row 3 \(line 4\): label "maybe"/);
  });
});
