/**
 * Multi-slice files (NIfTI volumes `.nii`/`.nii.gz`, multi-frame DICOM `.dcm`/`.dicom`) become one
 * sample per 2-D slice (`slice` = index along io's default axis), all slices of a file in one group
 * (the sample's group, else the file path), so a volume is never split across train/validation/test.
 * Slice labels: a slice of a normal volume is normal; a slice of an anomalous volume with masks is
 * anomalous when its mask slice (union over mask files, same slice index) has a pixel > 0, else normal;
 * an anomalous volume without masks labels every slice anomalous. Files with one slice stay as they are.
 */
import { countSlices, readSlices } from "../io/index.js";
import { mapConcurrent } from "./pool.js";
import type { Sample } from "./types.js";

const MULTI_SLICE_SUFFIXES = [".nii", ".nii.gz", ".dcm", ".dicom"];
const CONCURRENT_FILES = 8;

function mayHaveSlices(sample: Sample): boolean {
  const lower = sample.path.toLowerCase();
  return sample.slice === undefined && MULTI_SLICE_SUFFIXES.some((suffix) => lower.endsWith(suffix));
}

/** Per-slice anomaly flags from the union of the mask volumes. */
async function anomalousSlices(maskPaths: readonly string[], count: number): Promise<boolean[]> {
  const flags = new Array<boolean>(count).fill(false);
  for (const path of maskPaths) {
    const slices = await readSlices(path);
    slices.forEach((slice, i) => {
      if (i < count && slice.data.some((v) => v > 0)) flags[i] = true;
    });
  }
  return flags;
}

async function expandOne(sample: Sample): Promise<Sample[]> {
  if (!mayHaveSlices(sample)) return [sample];
  const count = await countSlices(sample.path);
  if (count <= 1) return [sample];
  const flags =
    sample.label === 1 && sample.maskPaths.length > 0
      ? await anomalousSlices(sample.maskPaths, count)
      : new Array<boolean>(count).fill(sample.label === 1);
  return flags.map((anomalous, slice) => ({
    ...sample,
    slice,
    label: anomalous ? 1 : 0,
    group: sample.group ?? sample.path,
  }));
}

export async function expandSlices(samples: readonly Sample[]): Promise<Sample[]> {
  if (!samples.some(mayHaveSlices)) return [...samples];
  return (await mapConcurrent(samples, CONCURRENT_FILES, expandOne)).flat();
}
