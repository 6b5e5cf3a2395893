/** MatMul with numpy semantics for operands of rank >= 2 (batched, broadcast batch dimensions). */
import { broadcastShapes, ndarray, sizeOf, stridesOf, unravel } from "../ndarray.js";
import type { OpSpec } from "./spec.js";

export function matMulShape(a: readonly number[], b: readonly number[]): number[] | null {
  if (a.length < 2 || b.length < 2) return null;
  const [m, k] = a.slice(-2);
  const [k2, n] = b.slice(-2);
  if (k !== k2) return null;
  const batch = broadcastShapes(a.slice(0, -2), b.slice(0, -2));
  return batch ? [...batch, m, n] : null;
}

export const linalgOps: Record<string, OpSpec> = {
  MatMul: {
    infer: ([a, b], _attrs, fail) => {
      const shape = matMulShape(a.shape, b.shape);
      if (!shape) fail("inner dimensions or batch dimensions do not match (both operands need rank >= 2)");
      return [{ dtype: a.dtype, shape: shape! }];
    },
    evaluate: ([a, b]) => {
      const shape = matMulShape(a.shape, b.shape)!;
      const [m, k] = a.shape.slice(-2);
      const n = b.shape[b.shape.length - 1];
      const batchShape = shape.slice(0, -2);
      const out = ndarray(a.dtype, shape);
      const batches = sizeOf(batchShape);
      const index = new Array<number>(batchShape.length).fill(0);
      const offsetIn = (shapeIn: readonly number[]) => {
        const bs = shapeIn.slice(0, -2);
        const padded = new Array<number>(batchShape.length - bs.length).fill(1).concat(bs);
        const strides = stridesOf(padded);
        const matrix = shapeIn[shapeIn.length - 1] * shapeIn[shapeIn.length - 2];
        return () => {
          let o = 0;
          for (let i = 0; i < padded.length; i++) if (padded[i] !== 1) o += index[i] * strides[i];
          return o * matrix;
        };
      };
      const aOffset = offsetIn(a.shape);
      const bOffset = offsetIn(b.shape);
      for (let bi = 0; bi < batches; bi++) {
        unravel(bi, batchShape, index);
        const ao = aOffset();
        const bo = bOffset();
        const oo = bi * m * n;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let t = 0; t < k; t++) s += a.data[ao + i * k + t] * b.data[bo + t * n + j];
            out.data[oo + i * n + j] = s;
          }
        }
      }
      return [out];
    },
  },
};
