/** Types shared by the synthetic data generators. */
import type { Image } from "../io/image.js";

export type SynthKind = "industrial" | "object" | "medical";
export const synthKinds: readonly SynthKind[] = ["industrial", "object", "medical"];

export type IndustrialTexture = "woven" | "grid" | "noise" | "wood";
export const industrialTextures: readonly IndustrialTexture[] = ["woven", "grid", "noise", "wood"];

/** Size and channel count of generated images. */
export interface ImageShape {
  /** Side in pixels (images are square). */
  size: number;
  channels: 1 | 3;
}

/** One generated image with its ground truth. */
export interface SynthSample {
  image: Image;
  /** The same image without the defect (same pose, texture and noise); equal to `image` for normal samples. */
  reference: Image;
  /** 1 × size × size, 1 inside the defect and 0 elsewhere; all zero for normal samples. */
  mask: Image;
  /** The defect type, or `"good"` for a normal sample. */
  defect: string;
}
