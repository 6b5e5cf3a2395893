/** Streaming batches: contents, shuffling and resume, bounded prefetch, bounded memory on 10,000 files. */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { batches, type Sample } from "../../src/data/index.js";
import { createImage, type Image } from "../../src/io/image.js";
import { encodePng } from "../../src/io/png.js";
import { Random } from "../../src/util/random.js";
import { tempDir } from "./helpers.js";

/** Fake decoder: the image of `/n.png` is a constant n/100; masks are the left half. */
function fakeRead(width = 4, height = 4) {
  return async (path: string): Promise<Image> => {
    const image = createImage(width, height, 1);
    if (path.endsWith("_mask.png"))
      for (let i = 0; i < image.data.length; i++) image.data[i] = i % width < width / 2 ? 1 : 0;
    else image.data.fill(Number(path.match(/(\d+)\.png$/)![1]) / 100);
    return image;
  };
}

function fakeSamples(count: number): Sample[] {
  return Array.from({ length: count }, (_, i) => ({
    path: `/${i}.png`,
    label: i % 3 === 0 ? 1 : 0,
    maskPaths: i % 3 === 0 ? [`/${i}_mask.png`] : [],
  }));
}

async function collect(gen: AsyncGenerator<{ samples: Sample[] }>): Promise<string[][]> {
  const out: string[][] = [];
  for await (const b of gen) out.push(b.samples.map((s) => s.path));
  return out;
}

describe("batches", () => {
  it("yields N*C*H*W images and N*1*H*W masks in sample order, with dropLast", async () => {
    const samples = fakeSamples(10);
    const got = [];
    for await (const b of batches(samples, {
      batchSize: 4,
      size: 4,
      channels: 3,
      withMasks: true,
      read: fakeRead(),
    }))
      got.push(b);
    expect(got.map((b) => b.samples.length)).toEqual([4, 4, 2]);
    expect(got[0].images.length).toBe(4 * 3 * 16);
    expect(got[0].images[16 * 3 * 1]).toBeCloseTo(0.01, 3);
    expect(got[2].images[16 * 3]).toBeCloseTo(0.09, 3);
    expect(Array.from(got[0].masks!.subarray(0, 4))).toEqual([1, 1, 0, 0]);
    expect(Array.from(got[0].masks!.subarray(16, 32)).every((v) => v === 0)).toBe(true);
    const dropped = await collect(
      batches(samples, { batchSize: 4, size: 4, dropLast: true, read: fakeRead() }),
    );
    expect(dropped.length).toBe(2);
    const plain = batches(samples, { batchSize: 4, size: 4, read: fakeRead() });
    expect((await plain.next()).value!.masks).toBeNull();
  });

  it("seeded shuffles are deterministic and a stream resumes from its rngState and nextBatch", async () => {
    const samples = fakeSamples(23);
    const options = { batchSize: 5, size: 4, shuffle: true, read: fakeRead() };
    const a = await collect(batches(samples, { ...options, seed: 4 }));
    expect(await collect(batches(samples, { ...options, seed: 4 }))).toEqual(a);
    expect(a.flat().sort()).toEqual(samples.map((s) => s.path).sort());
    expect(a.flat()).not.toEqual(samples.map((s) => s.path));

    const random = new Random(9);
    const epoch1: string[][] = [];
    let resume: { rngState: number[] | null; nextBatch: number } | undefined;
    for await (const b of batches(samples, { ...options, random })) {
      epoch1.push(b.samples.map((s) => s.path));
      if (b.index === 1) resume = b.resume;
    }
    const rest = await collect(
      batches(samples, {
        ...options,
        random: Random.fromState(resume!.rngState!),
        startBatch: resume!.nextBatch,
      }),
    );
    expect(rest).toEqual(epoch1.slice(2));
    const epoch2 = await collect(batches(samples, { ...options, random }));
    expect(epoch2).not.toEqual(epoch1);
  });

  it("decodes at most `prefetch` batches ahead of the consumer", async () => {
    for (const prefetch of [0, 1, 3]) {
      let started = 0;
      const read = fakeRead();
      const counted = async (path: string) => {
        started++;
        return read(path);
      };
      const batchSize = 4;
      for await (const b of batches(fakeSamples(40), { batchSize, size: 4, prefetch, read: counted })) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        expect(started).toBeLessThanOrEqual(Math.min(40, (b.index + 1 + prefetch) * batchSize));
        if (prefetch > 0 && b.index === 0) expect(started).toBeGreaterThan(batchSize);
      }
    }
  });

  it("rejects bad options and propagates decode errors", async () => {
    await expect(batches(fakeSamples(2), { batchSize: 0, size: 4 }).next()).rejects.toThrow(/batch size/);
    const failing = async (): Promise<Image> => {
      throw new Error("boom");
    };
    await expect(collect(batches(fakeSamples(9), { batchSize: 2, size: 4, read: failing }))).rejects.toThrow(
      "boom",
    );
  });
});

describe("batches over 10,000 real PNG files", () => {
  const root = tempDir("anomalyscope-stream-");
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("keeps peak RSS growth far below the size of all decoded images", async () => {
    const side = 64;
    const variants: Uint8Array[] = [];
    for (let v = 0; v < 16; v++) {
      const image = createImage(side, side, 3);
      for (let i = 0; i < image.data.length; i++) image.data[i] = ((i * (v + 1)) % 997) / 997;
      variants.push(await encodePng(image));
    }
    const samples: Sample[] = [];
    for (let d = 0; d < 100; d++) {
      const dir = join(root, String(d));
      mkdirSync(dir);
      for (let i = 0; i < 100; i++) {
        const path = join(dir, `${i}.png`);
        writeFileSync(path, variants[(d + i) % variants.length]);
        samples.push({ path, label: 0, maskPaths: [] });
      }
    }
    const allDecodedBytes = samples.length * 3 * side * side * 4;
    const batchSize = 32;
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    let seen = 0;
    let checksum = 0;
    for await (const b of batches(samples, { batchSize, size: side, channels: 3, shuffle: true, seed: 1 })) {
      seen += b.samples.length;
      checksum += b.images[0];
      if (b.index % 10 === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
    const growth = peak - baseline;
    console.log(
      `stream: ${seen} images, peak RSS growth ${(growth / 2 ** 20).toFixed(1)} MiB, all decoded ${(allDecodedBytes / 2 ** 20).toFixed(0)} MiB`,
    );
    expect(seen).toBe(10_000);
    expect(checksum).toBeGreaterThanOrEqual(0);
    expect(growth).toBeLessThan(allDecodedBytes / 4);
  }, 60_000);
});
