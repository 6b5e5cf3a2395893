import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { OptionError } from "../../src/errors.js";
import { generateDataset, type SynthOptions, type SynthSummary } from "../../src/synth/index.js";

const root = await mkdtemp(join(tmpdir(), "anomalyscope-synth-"));
afterAll(() => rm(root, { recursive: true, force: true }));
let runs = 0;

async function run(options: Omit<SynthOptions, "out">): Promise<{ out: string; summary: SynthSummary }> {
  const out = join(root, `run${runs++}`);
  return { out, summary: await generateDataset({ nTrain: 4, nTest: 10, size: 48, ...options, out }) };
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

async function pngs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith(".png")).sort();
  } catch {
    return [];
  }
}

async function decode(path: string): Promise<{ data: Buffer; width: number; channels: number }> {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, channels: info.channels };
}

/** Every mask is the size of its image, 0/255, and not empty. */
async function expectMasks(pairs: Array<[string, string]>): Promise<void> {
  expect(pairs.length).toBeGreaterThan(0);
  for (const [imagePath, maskPath] of pairs) {
    const image = await decode(imagePath);
    const mask = await decode(maskPath);
    expect(mask.width).toBe(image.width);
    expect(mask.data.every((v) => v === 0 || v === 255)).toBe(true);
    expect(mask.data.some((v) => v === 255)).toBe(true);
  }
}

describe("generateDataset", () => {
  it.each(["industrial", "object", "medical"] as const)("writes the MVTec layout for %s", async (kind) => {
    const { out, summary } = await run({ kind, seed: 1 });
    expect(await pngs(join(out, "train", "good"))).toHaveLength(4);
    expect(await pngs(join(out, "test", "good"))).toHaveLength(5);
    const pairs: Array<[string, string]> = [];
    for (const defect of summary.defects) {
      for (const file of await pngs(join(out, "test", defect)))
        pairs.push([
          join(out, "test", defect, file),
          join(out, "ground_truth", defect, file.replace(".png", "_mask.png")),
        ]);
    }
    expect(pairs).toHaveLength(5);
    await expectMasks(pairs);
    const stored = JSON.parse(await readFile(join(out, "synth.json"), "utf8"));
    expect(stored).toEqual(summary);
    expect(summary.counts.test.good).toBe(5);
    expect(Object.values(summary.counts.test).reduce((a, b) => a + b, 0)).toBe(10);
    expect(summary.counts.valid).toBeUndefined();
  });

  it.each(["industrial", "object", "medical"] as const)("writes the BMAD layout for %s", async (kind) => {
    const { out, summary } = await run({ kind, layout: "bmad", channels: 3 });
    expect(await pngs(join(out, "train", "good", "img"))).toHaveLength(4);
    for (const split of ["valid", "test"]) {
      const good = await pngs(join(out, split, "good", "img"));
      const ungood = await pngs(join(out, split, "Ungood", "img"));
      expect(await pngs(join(out, split, "Ungood", "anomaly_mask"))).toEqual(ungood);
      expect(good.length + ungood.length).toBe(split === "test" ? 10 : 2);
      expect(ungood.length).toBeGreaterThan(0);
      await expectMasks(
        ungood.map((f) => [
          join(out, split, "Ungood", "img", f),
          join(out, split, "Ungood", "anomaly_mask", f),
        ]),
      );
    }
    expect(summary.counts.valid).toBeDefined();
    const image = await decode(join(out, "train", "good", "img", "000.png"));
    expect(image.channels).toBe(3);
  });

  it("gives byte-identical files for the same seed and different ones for another seed", async () => {
    const a = await run({ kind: "industrial", texture: "wood", seed: 42 });
    const b = await run({ kind: "industrial", texture: "wood", seed: 42 });
    const c = await run({ kind: "industrial", texture: "wood", seed: 43 });
    const files = await listFiles(a.out);
    expect(await listFiles(b.out)).toEqual(files);
    for (const file of files)
      expect(Buffer.compare(await readFile(join(a.out, file)), await readFile(join(b.out, file))), file).toBe(
        0,
      );
    const first = join("train", "good", "000.png");
    expect(Buffer.compare(await readFile(join(a.out, first)), await readFile(join(c.out, first)))).not.toBe(
      0,
    );
  });

  it("keeps the train split independent of the test count", async () => {
    const a = await run({ kind: "medical", nTest: 4 });
    const b = await run({ kind: "medical", nTest: 12 });
    const file = join("train", "good", "003.png");
    expect(Buffer.compare(await readFile(join(a.out, file)), await readFile(join(b.out, file)))).toBe(0);
  });

  it("makes 260 images at 128 px within a few seconds", async () => {
    const started = performance.now();
    await run({ kind: "industrial", nTrain: 200, nTest: 60, size: 128 });
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it.each([
    [{ kind: "texture" as never }, /--kind/],
    [{ nTrain: 2.5 }, /--n-train/],
    [{ nTest: 1 }, /--n-test/],
    [{ size: 16 }, /--size/],
    [{ channels: 2 as never }, /--channels/],
    [{ layout: "coco" as never }, /--layout/],
    [{ kind: "medical" as const, texture: "wood" as const }, /--texture/],
  ])("rejects %o with an OptionError", async (options, message) => {
    const promise = generateDataset({ out: join(root, "never"), ...options });
    await expect(promise).rejects.toThrow(OptionError);
    await expect(generateDataset({ out: join(root, "never"), ...options })).rejects.toThrow(message);
  });

  it("refuses a non-empty folder, and overwrites only an earlier synthetic set", async () => {
    const { out } = await run({ kind: "object", nTrain: 6 });
    await expect(generateDataset({ out, nTrain: 2, nTest: 2, size: 32 })).rejects.toThrow(/not empty/);
    await generateDataset({ out, nTrain: 2, nTest: 2, size: 32, overwrite: true });
    expect(await pngs(join(out, "train", "good"))).toHaveLength(2);
    const foreign = join(root, "foreign");
    await rm(foreign, { recursive: true, force: true });
    await generateDataset({ out: foreign, nTrain: 1, nTest: 2, size: 32 }).then(() =>
      rm(join(foreign, "synth.json")),
    );
    await writeFile(join(foreign, "notes.txt"), "mine");
    await expect(
      generateDataset({ out: foreign, nTrain: 1, nTest: 2, size: 32, overwrite: true }),
    ).rejects.toThrow(/synth\.json/);
  });
});
