/**
 * Nearest-neighbour search against a memory bank as a traced graph of MatMuls (PatchCore's scoring,
 * Roth et al. CVPR 2022, §3.3; anomalib `euclidean_dist` + `topk(k=1, largest=False)`), so an exported
 * model runs in plain ONNX Runtime. For queries Q×D and a bank M×D the squared distance is
 * ‖q‖² − 2·q·bᵀ + ‖b‖² (one MatMul, `squaredDistances` of divergences.ts). The bank is cut into chunks of at most `chunkRows` rows: each
 * chunk gives its own minimum (and its arg-min), and the running minimum is folded chunk after chunk,
 * so at most one Q×chunk distance block needs to be alive at a time instead of Q×M. Squared distances
 * below 0 (rounding) are clamped before the square root.
 */
import type { Tensor } from "../engine/index.js";
import * as T from "../engine/index.js";
import { squaredDistances } from "./divergences.js";

export interface NearestNeighbour {
  /** Euclidean distance of every query to its nearest bank row, Q. */
  distance: Tensor;
  /** Index of that row in the bank (int64), Q; with `withIndex`. */
  index?: Tensor;
}

export function nearestNeighbour(
  queries: Tensor,
  bank: Tensor,
  options: { chunkRows: number; withIndex?: boolean },
): NearestNeighbour {
  const rows = bank.shape[0];
  let best: Tensor | undefined;
  let bestIndex: Tensor | undefined;
  for (let start = 0; start < rows; start += options.chunkRows) {
    const end = Math.min(start + options.chunkRows, rows);
    const chunk = start === 0 && end === rows ? bank : T.slice(bank, [{ axis: 0, start, end }]);
    const d2 = squaredDistances(queries, chunk);
    const chunkBest = T.min(d2, 1);
    if (options.withIndex) {
      const chunkIndex = T.add(T.argMin(d2, 1), T.scalar(start, "int64"));
      bestIndex = best && bestIndex ? T.where(T.less(chunkBest, best), chunkIndex, bestIndex) : chunkIndex;
    }
    best = best ? T.minimum(best, chunkBest) : chunkBest;
  }
  if (!best) throw new Error("nearestNeighbour: the bank is empty");
  return { distance: T.sqrt(T.relu(best)), ...(bestIndex ? { index: bestIndex } : {}) };
}
