/**
 * MVTec LOCO AD layout: `train/good`, `validation/good`, `test/<type>`, masks either
 * `ground_truth/<type>/<stem>.png` or a folder `ground_truth/<type>/<stem>/000.png, 001.png, ...`
 * (several masks per image; all are recorded and unioned when decoded).
 *
 * Told apart from MVTec AD by a `validation/good` folder, mask folders, or mask files without `_mask`.
 */
import { join } from "node:path";
import { isDirectory, listDirectories, listImages, stemOf } from "../files.js";
import type { Layout } from "../types.js";
import { indexMvtecFamily } from "./mvtec-family.js";
import { hasTrainGoodAndTest, isCategoryOrParent, masksByStem } from "./shared.js";

async function isCategory(dir: string): Promise<boolean> {
  if (!(await hasTrainGoodAndTest(dir))) return false;
  if (await isDirectory(join(dir, "validation", "good"))) return true;
  const truth = join(dir, "ground_truth");
  for (const type of await listDirectories(truth)) {
    if ((await listDirectories(join(truth, type))).length > 0) return true;
    if ((await listImages(join(truth, type))).some((file) => !stemOf(file).endsWith("_mask"))) return true;
  }
  return false;
}

export const loco: Layout = {
  name: "loco",
  detect: (root) => isCategoryOrParent(root, isCategory),
  index: (root, options) =>
    indexMvtecFamily(root, options, {
      isCategory,
      imageSubfolder: "",
      masksFor: (dir, type) => masksByStem(join(dir, "ground_truth", type)),
    }),
};
