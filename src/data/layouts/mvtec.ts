/**
 * MVTec AD layout: `<cat>/train/good`, `<cat>/test/<type>`, `<cat>/ground_truth/<type>/<stem>_mask.png`.
 * The root may be the category folder itself or a folder of categories (`--category` picks one).
 */
import { join } from "node:path";
import type { Layout } from "../types.js";
import { indexMvtecFamily } from "./mvtec-family.js";
import { hasTrainGoodAndTest, isCategoryOrParent, masksByStem } from "./shared.js";

const isCategory = hasTrainGoodAndTest;

export const mvtec: Layout = {
  name: "mvtec",
  detect: (root) => isCategoryOrParent(root, isCategory),
  index: (root, options) =>
    indexMvtecFamily(root, options, {
      isCategory,
      imageSubfolder: "",
      masksFor: (dir, type) => masksByStem(join(dir, "ground_truth", type), "_mask"),
    }),
};
