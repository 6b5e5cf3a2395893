/**
 * Dense n-d arrays used by the reference executor and for constants: float64 storage whatever the
 * logical dtype (int64 values are exact up to 2^53, bool is 0/1), row-major (C order).
 */

/** Element types of tensors (logical; see above for their storage here). */
export type DType = "float32" | "int64" | "bool";

export interface NDArray {
  dtype: DType;
  shape: number[];
  data: Float64Array;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function ndarray(dtype: DType, shape: readonly number[], data?: ArrayLike<number>): NDArray {
  const size = sizeOf(shape);
  const storage = new Float64Array(size);
  if (data !== undefined) {
    if (data.length !== size) {
      throw new Error(`ndarray: ${data.length} values for shape [${shape.join(", ")}] (needs ${size})`);
    }
    storage.set(data);
  }
  return { dtype, shape: [...shape], data: storage };
}

/** Multi-index of a flat row-major offset. */
export function unravel(offset: number, shape: readonly number[], out: number[]): number[] {
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = offset % shape[i];
    offset = Math.floor(offset / shape[i]);
  }
  return out;
}

/** Shape of numpy-style broadcasting, or null when incompatible. */
export function broadcastShapes(...shapes: ReadonlyArray<readonly number[]>): number[] | null {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    for (let i = 0; i < shape.length; i++) {
      const axis = rank - shape.length + i;
      const d = shape[i];
      if (out[axis] === 1) out[axis] = d;
      else if (d !== 1 && d !== out[axis]) return null;
    }
  }
  return out;
}

/** For each flat output offset, the flat offset into an input broadcast to `outShape`. */
export function broadcastIndex(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const size = sizeOf(outShape);
  const map = new Int32Array(size);
  const rank = outShape.length;
  const padded = new Array<number>(rank - inShape.length).fill(1).concat(inShape);
  const inStrides = stridesOf(padded);
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < size; o++) {
    unravel(o, outShape, index);
    let offset = 0;
    for (let a = 0; a < rank; a++) if (padded[a] !== 1) offset += index[a] * inStrides[a];
    map[o] = offset;
  }
  return map;
}
