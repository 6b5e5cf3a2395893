import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { InputFileError, OptionError } from "../../src/errors.js";
import { countSlices, readImage, readSlices } from "../../src/io/index.js";
import { makeTempDir, niftiBytes, writeBytes } from "./helpers.js";

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir();
});

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InputFileError);
  return (error as InputFileError).reason;
}

/** 3x2x4 volume (x fastest), voxel value = its linear index. */
const dims = [3, 2, 4];
const indices = Array.from({ length: 24 }, (_, i) => i);
const noClip: [number, number] = [0, 100];

describe("NIfTI reader", () => {
  it("slices along the last axis by default, for .nii and .nii.gz", async () => {
    const bytes = niftiBytes({ dims, datatype: 4, bitpix: 16, voxels: new Int16Array(indices) });
    for (const [name, content] of [
      ["vol.nii", bytes],
      ["vol.nii.gz", gzipSync(bytes)],
    ] as const) {
      const path = await writeBytes(dir, name, content);
      const slices = await readSlices(path, { clipPercentiles: noClip });
      expect(slices).toHaveLength(4);
      expect([slices[1].width, slices[1].height, slices[1].channels]).toEqual([3, 2, 1]);
      expect(Array.from(slices[1].data)).toEqual([6, 7, 8, 9, 10, 11].map((v) => Math.fround(v / 23)));
      expect(await countSlices(path)).toBe(4);
      expect(Array.from((await readImage(path, { clipPercentiles: noClip })).data)).toEqual(
        [12, 13, 14, 15, 16, 17].map((v) => Math.fround(v / 23)),
      );
    }
  });

  it("slices along axes 0 and 1", async () => {
    const path = await writeBytes(
      dir,
      "axes.nii",
      niftiBytes({ dims, datatype: 2, bitpix: 8, voxels: new Uint8Array(indices) }),
    );
    const alongX = await readSlices(path, { axis: 0, clipPercentiles: noClip });
    expect(alongX).toHaveLength(3);
    expect([alongX[1].width, alongX[1].height]).toEqual([2, 4]);
    expect(Array.from(alongX[1].data)).toEqual([1, 4, 7, 10, 13, 16, 19, 22].map((v) => Math.fround(v / 23)));
    const alongY = await readSlices(path, { axis: 1, clipPercentiles: noClip });
    expect(alongY).toHaveLength(2);
    expect(Array.from(alongY[1].data)).toEqual(
      [3, 4, 5, 9, 10, 11, 15, 16, 17, 21, 22, 23].map((v) => Math.fround(v / 23)),
    );
  });

  it("applies scl_slope/scl_inter and the default 0.5/99.5 percentile clip", async () => {
    const voxels = new Float32Array(201).map((_, i) => i);
    const path = await writeBytes(
      dir,
      "clip.nii",
      niftiBytes({ dims: [201, 1, 1], datatype: 16, bitpix: 32, voxels, slope: 2, intercept: 10 }),
    );
    const [image] = await readSlices(path);
    // scaled values 10..410; 0.5th percentile = 10 + 2 * 1 = 12, 99.5th = 10 + 2 * 199 = 408
    expect(image.data[0]).toBe(0);
    expect(image.data[1]).toBe(0);
    expect(image.data[100]).toBeCloseTo((210 - 12) / 396, 6);
    expect(image.data[199]).toBe(1);
    expect(image.data[200]).toBe(1);
  });

  it("reads uint8, int16, int32, float32, float64 and uint16 voxels", async () => {
    const cases = [
      [2, 8, new Uint8Array(indices)],
      [4, 16, new Int16Array(indices.map((v) => v - 12))],
      [8, 32, new Int32Array(indices.map((v) => v * 100000))],
      [16, 32, new Float32Array(indices.map((v) => v / 4))],
      [64, 64, new Float64Array(indices.map((v) => -v))],
      [512, 16, new Uint16Array(indices.map((v) => v * 1000))],
    ] as const;
    for (const [datatype, bitpix, voxels] of cases) {
      const path = await writeBytes(
        dir,
        `type${datatype}.nii`,
        niftiBytes({ dims, datatype, bitpix, voxels }),
      );
      const slice = (await readSlices(path, { clipPercentiles: noClip }))[0];
      const expected = datatype === 64 ? [23, 22, 21, 20, 19, 18] : [0, 1, 2, 3, 4, 5];
      expect(Array.from(slice.data)).toEqual(expected.map((v) => Math.fround(v / 23)));
    }
  });

  it("reports truncated, corrupt, unsupported and 4-D files", async () => {
    const bytes = niftiBytes({ dims, datatype: 4, bitpix: 16, voxels: new Int16Array(indices) });
    expect(
      await reasonOf(readImage(await writeBytes(dir, "cut.nii", bytes.subarray(0, bytes.length - 10)))),
    ).toBe("truncated");
    expect(await reasonOf(readImage(await writeBytes(dir, "cut-header.nii", bytes.subarray(0, 200))))).toBe(
      "truncated",
    );
    const gz = gzipSync(bytes);
    expect(
      await reasonOf(readImage(await writeBytes(dir, "cut.nii.gz", gz.subarray(0, gz.length / 2)))),
    ).toBe("truncated");
    expect(
      await reasonOf(
        readImage(await writeBytes(dir, "text.nii.gz", gzipSync(new TextEncoder().encode("hello")))),
      ),
    ).toBe("truncated");
    const complex = niftiBytes({ dims, datatype: 32, bitpix: 64, voxels: new Float32Array(48) });
    expect(await reasonOf(readImage(await writeBytes(dir, "complex.nii", complex)))).toBe("unsupported");
    const fourD = niftiBytes({ dims: [3, 2, 2, 2], datatype: 2, bitpix: 8, voxels: new Uint8Array(24) });
    expect(await reasonOf(readImage(await writeBytes(dir, "4d.nii", fourD)))).toBe("wrong-dimensions");
    expect(await reasonOf(readImage(await writeBytes(dir, "empty.nii.gz", new Uint8Array())))).toBe("empty");
    expect(await reasonOf(countSlices(`${dir}/missing.nii`))).toBe("missing");
    const path = await writeBytes(dir, "ok.nii", bytes);
    expect(await reasonOf(readImage(path, { slice: 4 }))).toBe("wrong-dimensions");
    await expect(readImage(path, { clipPercentiles: [50, 10] })).rejects.toBeInstanceOf(OptionError);
  });
});
