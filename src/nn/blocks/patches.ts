/**
 * Grid helpers for patch-based methods (SQUID, methods.md §4.2; usable by any method that cuts images
 * into a non-overlapping n×n grid):
 *
 * - `patchify(x, n)`: N×C×H×W -> (N·n²)×C×(H/n)×(W/n), patches numbered row-major, item-major
 *   (patch p of image b is row b·n² + p), as SQUID's `make_window` with stride = window size.
 * - `unpatchify(x, n)`: the exact inverse (SQUID's `window_reverse`).
 * - `neighbourGather(tokens, n)`: for tokens N×n²×d laid out on the n×n grid, the 8 neighbours of every
 *   cell in its 3×3 neighbourhood (row-major, centre excluded), zero rows outside the grid:
 *   (N·n²)×8×d. Built from one constant-index Gather, so its gradient is a scatter-add.
 */

import type { Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";

function checkGrid(x: Tensor, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${what}: the grid side must be a positive integer, got ${n}`);
  if (x.rank !== 4) throw new Error(`${what}: expects an N×C×H×W tensor, got [${x.shape.join(", ")}]`);
}

/** Cut every image into an n×n grid of patches (see the file comment). */
export function patchify(x: Tensor, n: number): Tensor {
  checkGrid(x, n, "patchify");
  const [batch, channels, h, w] = x.shape;
  if (h % n !== 0 || w % n !== 0)
    throw new Error(`patchify: a ${h}×${w} image cannot be cut into a ${n}×${n} grid of equal patches`);
  const [ph, pw] = [h / n, w / n];
  const grid = T.reshape(x, [batch, channels, n, ph, n, pw]);
  return T.reshape(T.transpose(grid, [0, 2, 4, 1, 3, 5]), [batch * n * n, channels, ph, pw]);
}

/** Reassemble patches cut by `patchify` into whole images. */
export function unpatchify(x: Tensor, n: number): Tensor {
  checkGrid(x, n, "unpatchify");
  const [rows, channels, ph, pw] = x.shape;
  if (rows % (n * n) !== 0)
    throw new Error(`unpatchify: ${rows} patches are not a whole number of ${n}×${n} grids`);
  const grid = T.reshape(x, [rows / (n * n), n, n, channels, ph, pw]);
  return T.reshape(T.transpose(grid, [0, 3, 1, 4, 2, 5]), [rows / (n * n), channels, n * ph, n * pw]);
}

/**
 * Index of each neighbour (row-major over the 3×3 neighbourhood, centre dropped) of each cell of an
 * n×n grid; `n·n` stands for "outside the grid" (a zero row).
 */
export function neighbourIndices(n: number): number[] {
  const outside = n * n;
  const indices: number[] = [];
  for (let row = 0; row < n; row++)
    for (let col = 0; col < n; col++)
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          if (dy === 0 && dx === 0) continue;
          const [r, c] = [row + dy, col + dx];
          indices.push(r >= 0 && r < n && c >= 0 && c < n ? r * n + c : outside);
        }
  return indices;
}

/** The 8 zero-padded grid neighbours of every cell (see the file comment). */
export function neighbourGather(tokens: Tensor, n: number): Tensor {
  if (tokens.rank !== 3 || tokens.shape[1] !== n * n)
    throw new Error(`neighbourGather: expects N×${n * n}×d tokens, got [${tokens.shape.join(", ")}]`);
  const [batch, , d] = tokens.shape;
  const padded = T.concat([tokens, T.zeros([batch, 1, d])], 1);
  const indices = neighbourIndices(n);
  const gathered = T.gather(padded, T.constant(indices, [indices.length], "int64"), 1);
  return T.reshape(gathered, [batch * n * n, 8, d]);
}
