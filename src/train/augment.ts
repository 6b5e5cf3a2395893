/**
 * Training-time augmentation on host arrays (N·C·H·W in [0,1]): horizontal flip, and a random affine
 * (translation as a fraction of the side, isotropic scale, rotation in degrees) around the image
 * centre with zero fill, like torchvision's RandomAffine. Nearest-neighbour resampling by default
 * (torchvision's default, which SQUID's official runs used) or bilinear.
 */
import type { Augmentation } from "../methods/contract.js";
import type { Random } from "../util/random.js";

export type { Augmentation };

export const noAugmentation: Augmentation = {
  flip: false,
  translate: 0,
  scale: [1, 1],
  rotation: 0,
  interpolation: "nearest",
};

export function isIdentity(a: Augmentation): boolean {
  return !a.flip && a.translate === 0 && a.scale[0] === 1 && a.scale[1] === 1 && a.rotation === 0;
}

/** Augment a batch in place. */
export function augmentBatch(
  images: Float32Array,
  n: number,
  channels: number,
  size: number,
  augmentation: Augmentation,
  random: Random,
): void {
  if (isIdentity(augmentation)) return;
  const plane = size * size;
  const scratch = new Float32Array(channels * plane);
  for (let i = 0; i < n; i++) {
    const image = images.subarray(i * channels * plane, (i + 1) * channels * plane);
    const flip = augmentation.flip && random.bernoulli(0.5);
    const angle = (random.range(-augmentation.rotation, augmentation.rotation) * Math.PI) / 180;
    const scale = random.range(augmentation.scale[0], augmentation.scale[1]);
    const maxShift = augmentation.translate * size;
    const dx = Math.round(random.range(-maxShift, maxShift));
    const dy = Math.round(random.range(-maxShift, maxShift));
    warp(image, scratch, channels, size, { flip, angle, scale, dx, dy }, augmentation.interpolation);
    image.set(scratch);
  }
}

interface Warp {
  flip: boolean;
  angle: number;
  scale: number;
  dx: number;
  dy: number;
}

function warp(
  src: Float32Array,
  dst: Float32Array,
  channels: number,
  size: number,
  w: Warp,
  mode: Augmentation["interpolation"],
): void {
  const centre = (size - 1) / 2;
  const cos = Math.cos(w.angle) / w.scale;
  const sin = Math.sin(w.angle) / w.scale;
  const plane = size * size;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // inverse map: output pixel -> source coordinate
      const ox = x - centre - w.dx;
      const oy = y - centre - w.dy;
      let sx = cos * ox + sin * oy + centre;
      const sy = -sin * ox + cos * oy + centre;
      if (w.flip) sx = size - 1 - sx;
      for (let c = 0; c < channels; c++) {
        dst[c * plane + y * size + x] = sample(src.subarray(c * plane, (c + 1) * plane), size, sx, sy, mode);
      }
    }
  }
}

function sample(
  plane: Float32Array,
  size: number,
  x: number,
  y: number,
  mode: Augmentation["interpolation"],
): number {
  if (mode === "nearest") {
    const ix = Math.round(x);
    const iy = Math.round(y);
    return ix < 0 || iy < 0 || ix >= size || iy >= size ? 0 : plane[iy * size + ix];
  }
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const at = (ix: number, iy: number) =>
    ix < 0 || iy < 0 || ix >= size || iy >= size ? 0 : plane[iy * size + ix];
  return (
    (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
    fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1))
  );
}
