/**
 * The indexer shared by MVTec AD, MVTec LOCO and MVTec 3D-AD: `train/good`, `validation/good` (when present,
 * the data set's own validation split),
 * `test/<type>` (type `good` = normal, anything else = anomalous), each image folder optionally one level
 * deeper (`rgb/` in MVTec 3D-AD). The layouts differ only in where the masks are.
 */
import { join } from "node:path";
import { isDirectory, listDirectories } from "../files.js";
import { type DatasetIndex, emptyIndex, type IndexOptions } from "../types.js";
import { resolveCategory, samplesFromFolder } from "./shared.js";

export interface MvtecFamilySpec {
  isCategory(dir: string): Promise<boolean>;
  /** Sub-folder holding the images inside each class folder (`rgb` for MVTec 3D-AD), or "". */
  imageSubfolder: string;
  /** Masks by image stem for the anomalous test type `type` of the category folder `dir`. */
  masksFor(dir: string, type: string): Promise<Map<string, string[]>>;
}

export async function indexMvtecFamily(
  root: string,
  options: IndexOptions,
  spec: MvtecFamilySpec,
): Promise<DatasetIndex> {
  const { dir, category } = await resolveCategory(root, options, spec.isCategory);
  const images = (...parts: string[]) => join(dir, ...parts, spec.imageSubfolder);
  const index = emptyIndex();
  index.notes.push(`category ${category}`);
  index.train = await samplesFromFolder(images("train", "good"), 0, "good");
  if (await isDirectory(images("validation", "good")))
    index.validation = await samplesFromFolder(images("validation", "good"), 0, "good");
  for (const type of await listDirectories(join(dir, "test"))) {
    const anomalous = type !== "good";
    const masks = anomalous ? await spec.masksFor(dir, type) : undefined;
    const samples = await samplesFromFolder(images("test", type), anomalous ? 1 : 0, type, masks);
    index.test.push(...samples);
  }
  const unmasked = index.test.filter((s) => s.label === 1 && s.maskPaths.length === 0).length;
  if (unmasked > 0) index.notes.push(`${unmasked} anomalous test images have no mask`);
  return index;
}
