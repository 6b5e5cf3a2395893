/**
 * BMAD layout (Benchmarks for Medical Anomaly Detection): `train/good[/img]`,
 * `valid/{good,Ungood}[/img]` (the data set's own validation split), `test/{good,Ungood}[/img]`,
 * masks `<split>/Ungood/anomaly_mask/<same file name>`. The image-label variant has no `img/` level
 * and no masks. `Ungood` = anomalous; folder names are matched case-insensitively.
 */
import { join } from "node:path";
import { findChild, isDirectory } from "../files.js";
import { emptyIndex, type Layout, type Sample } from "../types.js";
import { goodFolder, masksByStem, samplesFromFolder } from "./shared.js";

async function hasUngood(root: string, split: string): Promise<boolean> {
  return (await findChild(join(root, split), "ungood")) !== undefined;
}

/** Samples of one BMAD split folder (`train`, `valid` or `test`). */
async function splitSamples(splitDir: string): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (const [name, label] of [
    ["good", 0],
    ["ungood", 1],
  ] as const) {
    const actual = await findChild(splitDir, name);
    if (actual === undefined) continue;
    const classDir = join(splitDir, actual);
    const imageDir = (await isDirectory(join(classDir, "img"))) ? join(classDir, "img") : classDir;
    const masks = label === 1 ? await masksByStem(join(classDir, "anomaly_mask")) : undefined;
    samples.push(...(await samplesFromFolder(imageDir, label, actual, masks)));
  }
  return samples;
}

export const bmad: Layout = {
  name: "bmad",
  detect: async (root) =>
    (await goodFolder(join(root, "train"))) !== undefined &&
    ((await hasUngood(root, "test")) || (await hasUngood(root, "valid"))),
  index: async (root) => {
    const index = emptyIndex();
    index.train = await splitSamples(join(root, "train"));
    if (await isDirectory(join(root, "valid"))) index.validation = await splitSamples(join(root, "valid"));
    index.test = await splitSamples(join(root, "test"));
    const pixelLabels = index.test.some((s) => s.maskPaths.length > 0);
    index.notes.push(pixelLabels ? "pixel masks" : "image labels only");
    return index;
  },
};
