/**
 * Index primitives: Gather, GatherElements, ScatterElements (reduction none/add), ScatterND (none/add).
 * Negative indices are allowed as in ONNX.
 */
import type { Tensor } from "../ir.js";
import { ndarray, sizeOf, stridesOf, unravel } from "../ndarray.js";
import { intAttr, normAxis, type OpSpec } from "./spec.js";

/** GatherElements/ScatterElements: indices have the data's rank and fit inside it off the axis (as ORT checks). */
function checkElementsIndices(data: Tensor, indices: Tensor, axis: number, fail: (d: string) => never): void {
  if (indices.rank !== data.rank) fail("indices must have the data's rank");
  if (indices.shape.some((d, a) => a !== axis && d > data.shape[a]))
    fail(`indices shape [${indices.shape}] exceeds the data shape off axis ${axis}`);
}

export const indexingOps: Record<string, OpSpec> = {
  Gather: {
    infer: ([data, indices], attrs, fail) => {
      if (indices.dtype !== "int64") fail("indices must be int64");
      const axis = normAxis(intAttr(attrs, "axis", 0), data.rank);
      return [
        {
          dtype: data.dtype,
          shape: [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)],
        },
      ];
    },
    evaluate: ([data, indices], attrs) => {
      const axis = normAxis(intAttr(attrs, "axis", 0), data.shape.length);
      const outer = sizeOf(data.shape.slice(0, axis));
      const inner = sizeOf(data.shape.slice(axis + 1));
      const n = data.shape[axis];
      const shape = [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)];
      const out = ndarray(data.dtype, shape);
      const k = indices.data.length;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < k; j++) {
          let idx = indices.data[j];
          if (idx < 0) idx += n;
          for (let c = 0; c < inner; c++)
            out.data[(o * k + j) * inner + c] = data.data[(o * n + idx) * inner + c];
        }
      }
      return [out];
    },
  },
  GatherElements: {
    infer: ([data, indices], attrs, fail) => {
      if (indices.dtype !== "int64") fail("indices must be int64");
      checkElementsIndices(data, indices, normAxis(intAttr(attrs, "axis", 0), data.rank), fail);
      return [{ dtype: data.dtype, shape: [...indices.shape] }];
    },
    evaluate: ([data, indices], attrs) => {
      const axis = normAxis(intAttr(attrs, "axis", 0), data.shape.length);
      const out = ndarray(data.dtype, indices.shape);
      const strides = stridesOf(data.shape);
      const index = new Array<number>(indices.shape.length).fill(0);
      for (let o = 0; o < out.data.length; o++) {
        unravel(o, indices.shape, index);
        let offset = 0;
        for (let a = 0; a < index.length; a++) {
          let i = a === axis ? indices.data[o] : index[a];
          if (a === axis && i < 0) i += data.shape[axis];
          offset += i * strides[a];
        }
        out.data[o] = data.data[offset];
      }
      return [out];
    },
  },
  ScatterElements: {
    infer: ([data, indices, updates], attrs, fail) => {
      if (indices.dtype !== "int64") fail("indices must be int64");
      if (indices.shape.join() !== updates.shape.join()) fail("indices and updates must have the same shape");
      checkElementsIndices(data, indices, normAxis(intAttr(attrs, "axis", 0), data.rank), fail);
      return [{ dtype: data.dtype, shape: [...data.shape] }];
    },
    evaluate: ([data, indices, updates], attrs) => {
      const axis = normAxis(intAttr(attrs, "axis", 0), data.shape.length);
      const add = attrs.reduction === "add";
      const out = ndarray(data.dtype, data.shape, data.data);
      const strides = stridesOf(data.shape);
      const index = new Array<number>(indices.shape.length).fill(0);
      for (let u = 0; u < updates.data.length; u++) {
        unravel(u, indices.shape, index);
        let offset = 0;
        for (let a = 0; a < index.length; a++) {
          let i = a === axis ? indices.data[u] : index[a];
          if (a === axis && i < 0) i += data.shape[axis];
          offset += i * strides[a];
        }
        out.data[offset] = add ? out.data[offset] + updates.data[u] : updates.data[u];
      }
      return [out];
    },
  },
  ScatterND: {
    infer: ([data, indices, updates], _attrs, fail) => {
      if (indices.dtype !== "int64") fail("indices must be int64");
      const q = indices.shape[indices.rank - 1];
      const expected = [...indices.shape.slice(0, -1), ...data.shape.slice(q)];
      if (expected.join() !== updates.shape.join()) fail(`updates must have shape [${expected}]`);
      return [{ dtype: data.dtype, shape: [...data.shape] }];
    },
    evaluate: ([data, indices, updates], attrs) => {
      const add = attrs.reduction === "add";
      const out = ndarray(data.dtype, data.shape, data.data);
      const q = indices.shape[indices.shape.length - 1];
      const strides = stridesOf(data.shape);
      const slice = sizeOf(data.shape.slice(q));
      const count = indices.data.length / q;
      for (let j = 0; j < count; j++) {
        let offset = 0;
        for (let a = 0; a < q; a++) {
          let i = indices.data[j * q + a];
          if (i < 0) i += data.shape[a];
          offset += i * strides[a];
        }
        for (let c = 0; c < slice; c++) {
          const v = updates.data[j * slice + c];
          out.data[offset + c] = add ? out.data[offset + c] + v : v;
        }
      }
      return [out];
    },
  },
};
