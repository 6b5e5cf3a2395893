/**
 * MVTec 3D-AD layout, RGB images only: `train/good/rgb`, `validation/good/rgb` (the data set's own
 * validation split), `test/<type>/rgb`, masks `test/<type>/gt/<stem>.png`. The all-zero `good` masks
 * are ignored (good images have no anomaly). Point clouds (`xyz/`) are not read.
 */
import { join } from "node:path";
import { isDirectory } from "../files.js";
import type { Layout } from "../types.js";
import { indexMvtecFamily } from "./mvtec-family.js";
import { isCategoryOrParent, masksByStem } from "./shared.js";

async function isCategory(dir: string): Promise<boolean> {
  return (await isDirectory(join(dir, "train", "good", "rgb"))) && (await isDirectory(join(dir, "test")));
}

export const mvtec3d: Layout = {
  name: "mvtec3d",
  detect: (root) => isCategoryOrParent(root, isCategory),
  index: (root, options) =>
    indexMvtecFamily(root, options, {
      isCategory,
      imageSubfolder: "rgb",
      masksFor: (dir, type) => masksByStem(join(dir, "test", type, "gt")),
    }),
};
