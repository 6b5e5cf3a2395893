/**
 * The streamed store of patch features collected in PatchCore's training pass. Each image adds its
 * P patch rows. When the next image would take the store beyond `capacity` rows, every image is
 * subsampled to half as many rows (repeatedly if needed, never below one row per image): an image's
 * rows are ordered by greedy k-center selection (src/nn/coreset.ts) and a prefix is kept, so a
 * halving keeps a per-image coreset rather than a random subset, and all images keep the same number
 * of rows. The full feature set therefore never has to be in memory at once; the global coreset is
 * then taken from the rows this store holds.
 */
import { kCenterGreedy } from "../../nn/coreset.js";
import type { Random } from "../../util/random.js";

export class PatchCandidates {
  private blocks: Float32Array[] = [];
  /** Rows kept per image (P until the first halving). */
  private keep: number;

  constructor(
    readonly dim: number,
    readonly patchesPerImage: number,
    readonly capacity: number,
    private readonly projectionDim: number | null,
  ) {
    this.keep = patchesPerImage;
  }

  get images(): number {
    return this.blocks.length;
  }

  get rowsPerImage(): number {
    return this.keep;
  }

  get rowCount(): number {
    return this.blocks.length * this.keep;
  }

  /** Add `images` images' rows (images·P·dim values, image-major). */
  add(rows: Float32Array, images: number, random: Random): void {
    const block = this.patchesPerImage * this.dim;
    if (rows.length !== images * block)
      throw new Error(`PatchCandidates: ${rows.length} values for ${images} images of ${block}`);
    for (let i = 0; i < images; i++) {
      let keep = this.keep;
      while ((this.blocks.length + 1) * keep > this.capacity && keep > 1) keep = Math.floor(keep / 2);
      if (keep < this.keep) this.blocks = this.blocks.map((b) => this.subsample(b, keep, random));
      this.keep = keep;
      this.blocks.push(this.subsample(rows.slice(i * block, (i + 1) * block), keep, random));
    }
  }

  /** The first `keep` rows of an image's greedy order (a block already in that order is cut). */
  private subsample(rows: Float32Array, keep: number, random: Random): Float32Array {
    const count = rows.length / this.dim;
    if (keep === count) return rows;
    if (count < this.patchesPerImage) return rows.slice(0, keep * this.dim);
    const order = kCenterGreedy(rows, count, this.dim, keep, { random, projectionDim: this.projectionDim });
    // An image with fewer distinct rows than `keep` repeats its last chosen row (harmless for the
    // bank: the global coreset never picks a duplicate twice).
    const out = new Float32Array(keep * this.dim);
    for (let j = 0; j < keep; j++) {
      const row = order[Math.min(j, order.length - 1)];
      out.set(rows.subarray(row * this.dim, (row + 1) * this.dim), j * this.dim);
    }
    return out;
  }

  /** Every held row, image-major (rowCount × dim). */
  rows(): Float32Array {
    const out = new Float32Array(this.rowCount * this.dim);
    for (const [i, b] of this.blocks.entries()) out.set(b, i * b.length);
    return out;
  }

  clear(): void {
    this.blocks = [];
    this.keep = this.patchesPerImage;
  }
}
