/**
 * Seeded 2-D Perlin gradient noise and its fractal (fBm) sum, used for textures, anatomy boundaries,
 * bias fields and the masks of texture-blend defects.
 *
 * Written here (a few dozen lines) instead of taken from npm because the permutation table must come
 * from our seeded `Random`: the npm Perlin/simplex packages seed from `Math.random` or their own
 * generators, and synthetic data sets must be byte-identical for a seed on every platform.
 */
import type { Random } from "../util/random.js";

export class Perlin {
  private readonly perm = new Uint8Array(512);

  constructor(rng: Random) {
    const order = rng.shuffle(Array.from({ length: 256 }, (_, i) => i));
    for (let i = 0; i < 512; i++) this.perm[i] = order[i & 255];
  }

  /** Gradient noise at (x, y); 0 on the integer lattice, within about [-1, 1]. */
  noise(x: number, y: number): number {
    const xi = Math.floor(x);
    const yi = Math.floor(y);
    const xf = x - xi;
    const yf = y - yi;
    const X = xi & 255;
    const Y = yi & 255;
    const p = this.perm;
    const u = fade(xf);
    const v = fade(yf);
    const n00 = gradient(p[p[X] + Y], xf, yf);
    const n10 = gradient(p[p[X + 1] + Y], xf - 1, yf);
    const n01 = gradient(p[p[X] + Y + 1], xf, yf - 1);
    const n11 = gradient(p[p[X + 1] + Y + 1], xf - 1, yf - 1);
    const bottom = n00 + u * (n10 - n00);
    const top = n01 + u * (n11 - n01);
    return bottom + v * (top - bottom);
  }

  /** Fractal sum of `octaves` noise layers (each twice the frequency, `gain` times the amplitude), normalised to about [-1, 1]. */
  fbm(x: number, y: number, octaves: number, gain = 0.5): number {
    let sum = 0;
    let amplitude = 1;
    let norm = 0;
    let frequency = 1;
    for (let o = 0; o < octaves; o++) {
      sum += amplitude * this.noise(x * frequency + o * 17.3, y * frequency + o * 31.7);
      norm += amplitude;
      amplitude *= gain;
      frequency *= 2;
    }
    return sum / norm;
  }
}

function fade(t: number): number {
  return t * t * t * (t * (t * 6 - 15) + 10);
}

/** Dot product of (x, y) with one of eight unit-ish lattice gradients chosen by `hash`. */
function gradient(hash: number, x: number, y: number): number {
  switch (hash & 7) {
    case 0:
      return x + y;
    case 1:
      return -x + y;
    case 2:
      return x - y;
    case 3:
      return -x - y;
    case 4:
      return Math.SQRT2 * x;
    case 5:
      return -Math.SQRT2 * x;
    case 6:
      return Math.SQRT2 * y;
    default:
      return -Math.SQRT2 * y;
  }
}
