/**
 * Synthetic anomaly-detection data: industrial textures, objects seen from above and brain-slice
 * phantoms, each with normal images and defects with pixel masks, and defects pasted onto real images
 * (paste.ts). `generateDataset` writes a whole data
 * set (MVTec or BMAD layout); the per-kind generators make single images for tests and demos.
 */
export {
  defectsOf,
  generateDataset,
  type SplitCounts,
  type SynthLayout,
  type SynthOptions,
  type SynthSummary,
  synthLayouts,
} from "./dataset.js";
export {
  generateIndustrialImage,
  type IndustrialDefect,
  type IndustrialImageOptions,
  type IndustrialStyle,
  industrialDefects,
  industrialStyle,
} from "./industrial.js";
export { generateMedicalImage, type MedicalDefect, medicalDefects } from "./medical.js";
export { Perlin } from "./noise.js";
export { generateObjectImage, type ObjectDefect, objectDefects } from "./object.js";
export {
  type PastedDefect,
  type PastedDefectKind,
  parseDefectKinds,
  pasteDefect,
  pastedDefectKinds,
} from "./paste.js";
export {
  type ImageShape,
  type IndustrialTexture,
  industrialTextures,
  type SynthKind,
  type SynthSample,
  synthKinds,
} from "./types.js";
