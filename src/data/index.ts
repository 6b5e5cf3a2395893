/** Public API of src/data: dataset layouts and loading, split rules, preprocessing, streaming batches. */
export { detectLayout, type LoadOptions, loadDataset } from "./dataset.js";
export { findDuplicates, sha256File } from "./dedupe.js";
export { classLabel } from "./files.js";
export { LAYOUTS } from "./layouts/index.js";
export { parseCsv } from "./layouts/manifest.js";
export {
  convertChannels,
  type GreyMode,
  type PreprocessOptions,
  preprocessImage,
  preprocessMasks,
  type ResizeKernel,
  type ResizeOptions,
  resizeImage,
  type Size,
} from "./preprocess.js";
export { applyGroupRegex, carveValidation, groupKey, splitUnassigned } from "./split.js";
export { type Batch, type BatchOptions, batches } from "./stream.js";
export { type DatasetSummary, type SplitSummary, summarize, summarizeSplit } from "./summary.js";
export type { Dataset, DatasetIndex, IndexOptions, Layout, LayoutName, Sample } from "./types.js";
