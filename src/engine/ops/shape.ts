/**
 * Shape primitives: Reshape, Transpose, Slice (with steps), Concat, Split, Pad (constant, reflect),
 * Tile, Expand. Operands that ONNX takes as tensors (shape, starts, pads, ...) must be constants.
 */
import type { Tensor } from "../ir.js";
import {
  broadcastIndex,
  broadcastShapes,
  type NDArray,
  ndarray,
  sizeOf,
  stridesOf,
  unravel,
} from "../ndarray.js";
import { intAttr, intsAttr, normAxis, type OpSpec } from "./spec.js";

/** The integer values of a constant operand (fails if it is not a constant). */
export function constInts(t: Tensor | undefined, what: string, fail: (d: string) => never): number[] {
  if (!t?.constValue) return fail(`${what} must be a constant`);
  return Array.from(t.constValue.data);
}

/**
 * Resolved Slice parameters per axis: start, step, count. ONNX clamping: a negative start or end counts
 * from the end once; then for positive steps start and end are clamped to [0, dim], for negative
 * steps start to [0, dim − 1] and end to [−1, dim − 1] (so ONNX differs from Python for a start
 * below −dim with a negative step: ONNX starts at 0, Python yields nothing).
 */
export interface SliceAxis {
  start: number;
  step: number;
  count: number;
}

export function resolveSlice(
  shape: readonly number[],
  starts: number[],
  ends: number[],
  axes: number[],
  steps: number[],
): SliceAxis[] {
  const out: SliceAxis[] = shape.map((d) => ({ start: 0, step: 1, count: d }));
  axes.forEach((axisRaw, i) => {
    const axis = normAxis(axisRaw, shape.length);
    const dim = shape[axis];
    const step = steps[i] ?? 1;
    let start = starts[i];
    let end = ends[i];
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
      start = Math.min(Math.max(start, 0), dim);
      end = Math.min(Math.max(end, 0), dim);
      out[axis] = { start, step, count: Math.max(0, Math.ceil((end - start) / step)) };
    } else {
      start = Math.min(Math.max(start, 0), dim - 1);
      end = Math.min(Math.max(end, -1), dim - 1);
      out[axis] = { start, step, count: Math.max(0, Math.ceil((end - start) / step)) };
    }
  });
  return out;
}

function sliceParams(inputs: readonly Tensor[], fail: (d: string) => never): SliceAxis[] {
  const starts = constInts(inputs[1], "starts", fail);
  const ends = constInts(inputs[2], "ends", fail);
  const axes = inputs[3] ? constInts(inputs[3], "axes", fail) : starts.map((_, i) => i);
  const steps = inputs[4] ? constInts(inputs[4], "steps", fail) : starts.map(() => 1);
  if (steps.some((s) => s === 0)) fail("a slice step is 0");
  return resolveSlice(inputs[0].shape, starts, ends, axes, steps);
}

/** Gather a strided box of `x` described per axis by (start, step, count). */
function takeBox(x: NDArray, box: SliceAxis[]): NDArray {
  const shape = box.map((b) => b.count);
  const out = ndarray(x.dtype, shape);
  const strides = stridesOf(x.shape);
  const index = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.data.length; o++) {
    unravel(o, shape, index);
    let offset = 0;
    for (let a = 0; a < shape.length; a++) offset += (box[a].start + index[a] * box[a].step) * strides[a];
    out.data[o] = x.data[offset];
  }
  return out;
}

function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let m = ((i % period) + period) % period;
  if (m >= n) m = period - m;
  return m;
}

export const shapeOps: Record<string, OpSpec> = {
  Reshape: {
    infer: (inputs, _attrs, fail) => {
      const target = constInts(inputs[1], "shape", fail);
      const known = target.filter((d) => d !== -1).reduce((a, d) => a * (d === 0 ? 1 : d), 1);
      const shape = target.map((d, i) => (d === 0 ? inputs[0].shape[i] : d));
      const inferred = shape.indexOf(-1);
      if (inferred >= 0) shape[inferred] = inputs[0].size / known;
      if (sizeOf(shape) !== inputs[0].size || shape.some((d) => !Number.isInteger(d) || d < 0)) {
        fail(`cannot reshape ${inputs[0].size} elements to [${target.join(", ")}]`);
      }
      return [{ dtype: inputs[0].dtype, shape }];
    },
    evaluate: ([x, s]) => {
      const target = Array.from(s.data);
      const known = target.filter((d) => d !== -1).reduce((a, d) => a * (d === 0 ? 1 : d), 1);
      const shape = target.map((d, i) => (d === 0 ? x.shape[i] : d === -1 ? x.data.length / known : d));
      return [{ dtype: x.dtype, shape, data: x.data.slice() }];
    },
  },
  Transpose: {
    infer: (inputs, attrs, fail) => {
      const perm = intsAttr(attrs, "perm");
      const x = inputs[0];
      if (perm.length !== x.rank || [...perm].sort().some((p, i) => p !== i)) fail(`bad perm [${perm}]`);
      return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }];
    },
    evaluate: ([x], attrs) => {
      const perm = intsAttr(attrs, "perm");
      const shape = perm.map((p) => x.shape[p]);
      const out = ndarray(x.dtype, shape);
      const inStrides = stridesOf(x.shape);
      const index = new Array<number>(shape.length).fill(0);
      for (let o = 0; o < out.data.length; o++) {
        unravel(o, shape, index);
        let offset = 0;
        for (let a = 0; a < shape.length; a++) offset += index[a] * inStrides[perm[a]];
        out.data[o] = x.data[offset];
      }
      return [out];
    },
  },
  Slice: {
    infer: (inputs, _attrs, fail) => {
      const box = sliceParams(inputs, fail);
      return [{ dtype: inputs[0].dtype, shape: box.map((b) => b.count) }];
    },
    evaluate: ([x, starts, ends, axes, steps]) => {
      const box = resolveSlice(
        x.shape,
        Array.from(starts.data),
        Array.from(ends.data),
        axes ? Array.from(axes.data) : Array.from(starts.data, (_, i) => i),
        steps ? Array.from(steps.data) : Array.from(starts.data, () => 1),
      );
      return [takeBox(x, box)];
    },
  },
  Concat: {
    infer: (inputs, attrs, fail) => {
      if (inputs.length === 0) fail("needs at least one input");
      const axis = normAxis(intAttr(attrs, "axis"), inputs[0].rank);
      const shape = [...inputs[0].shape];
      for (const t of inputs.slice(1)) {
        if (
          t.rank !== shape.length ||
          t.shape.some((d, i) => i !== axis && d !== shape[i]) ||
          t.dtype !== inputs[0].dtype
        ) {
          fail(`inputs differ outside axis ${axis}`);
        }
        shape[axis] += t.shape[axis];
      }
      return [{ dtype: inputs[0].dtype, shape }];
    },
    evaluate: (inputs, attrs) => {
      const axis = normAxis(intAttr(attrs, "axis"), inputs[0].shape.length);
      const shape = [...inputs[0].shape];
      shape[axis] = inputs.reduce((a, t) => a + t.shape[axis], 0);
      const out = ndarray(inputs[0].dtype, shape);
      const outer = sizeOf(shape.slice(0, axis));
      const inner = sizeOf(shape.slice(axis + 1));
      let pos = 0;
      for (let o = 0; o < outer; o++) {
        for (const t of inputs) {
          const chunk = t.shape[axis] * inner;
          out.data.set(t.data.subarray(o * chunk, (o + 1) * chunk), pos);
          pos += chunk;
        }
      }
      return [out];
    },
  },
  Split: {
    infer: (inputs, attrs, fail) => {
      const x = inputs[0];
      const axis = normAxis(intAttr(attrs, "axis"), x.rank);
      const sizes = constInts(inputs[1], "split", fail);
      if (sizes.reduce((a, b) => a + b, 0) !== x.shape[axis]) fail(`split sizes [${sizes}] do not add up`);
      return sizes.map((s) => {
        const shape = [...x.shape];
        shape[axis] = s;
        return { dtype: x.dtype, shape };
      });
    },
    evaluate: ([x, split], attrs) => {
      const axis = normAxis(intAttr(attrs, "axis"), x.shape.length);
      let start = 0;
      return Array.from(split.data).map((count) => {
        const box = x.shape.map((d) => ({ start: 0, step: 1, count: d }));
        box[axis] = { start, step: 1, count };
        start += count;
        return takeBox(x, box);
      });
    },
  },
  Pad: {
    infer: (inputs, attrs, fail) => {
      const x = inputs[0];
      const pads = constInts(inputs[1], "pads", fail);
      if (pads.length !== 2 * x.rank) fail(`pads must have ${2 * x.rank} values`);
      const mode = (attrs.mode as string | undefined) ?? "constant";
      const shape = x.shape.map((d, i) => d + pads[i] + pads[i + x.rank]);
      if (mode === "reflect" && x.shape.some((d, i) => pads[i] >= d || pads[i + x.rank] >= d)) {
        fail("reflect padding must be smaller than the dimension");
      }
      if (shape.some((d) => d < 0)) fail("negative output size");
      return [{ dtype: x.dtype, shape }];
    },
    evaluate: ([x, padsArr, value], attrs) => {
      const rank = x.shape.length;
      const pads = Array.from(padsArr.data);
      const mode = (attrs.mode as string | undefined) ?? "constant";
      const shape = x.shape.map((d, i) => d + pads[i] + pads[i + rank]);
      const out = ndarray(x.dtype, shape);
      const strides = stridesOf(x.shape);
      const index = new Array<number>(rank).fill(0);
      const fillValue = value ? value.data[0] : 0;
      for (let o = 0; o < out.data.length; o++) {
        unravel(o, shape, index);
        let offset = 0;
        let inside = true;
        for (let a = 0; a < rank; a++) {
          let i = index[a] - pads[a];
          if (i < 0 || i >= x.shape[a]) {
            if (mode === "reflect") i = reflectIndex(i, x.shape[a]);
            else inside = false;
          }
          offset += i * strides[a];
        }
        out.data[o] = inside ? x.data[offset] : fillValue;
      }
      return [out];
    },
  },
  Tile: {
    infer: (inputs, _attrs, fail) => {
      const reps = constInts(inputs[1], "repeats", fail);
      if (reps.length !== inputs[0].rank) fail("repeats must have one value per axis");
      return [{ dtype: inputs[0].dtype, shape: inputs[0].shape.map((d, i) => d * reps[i]) }];
    },
    evaluate: ([x, repsArr]) => {
      const reps = Array.from(repsArr.data);
      const shape = x.shape.map((d, i) => d * reps[i]);
      const out = ndarray(x.dtype, shape);
      const strides = stridesOf(x.shape);
      const index = new Array<number>(shape.length).fill(0);
      for (let o = 0; o < out.data.length; o++) {
        unravel(o, shape, index);
        let offset = 0;
        for (let a = 0; a < shape.length; a++) offset += (index[a] % x.shape[a]) * strides[a];
        out.data[o] = x.data[offset];
      }
      return [out];
    },
  },
  Expand: {
    infer: (inputs, _attrs, fail) => {
      const target = constInts(inputs[1], "shape", fail);
      const shape = broadcastShapes(inputs[0].shape, target);
      if (!shape) fail(`cannot expand to [${target.join(", ")}]`);
      return [{ dtype: inputs[0].dtype, shape: shape! }];
    },
    evaluate: ([x, target]) => {
      const shape = broadcastShapes(x.shape, Array.from(target.data))!;
      const map = broadcastIndex(x.shape, shape);
      const out = ndarray(x.dtype, shape);
      for (let o = 0; o < out.data.length; o++) out.data[o] = x.data[map[o]];
      return [out];
    },
  },
};
