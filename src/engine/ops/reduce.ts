/**
 * Reductions and normalised exponentials: ReduceSum/Mean/Max/Min (axes as a constant input, opset 18;
 * an empty axes list reduces every axis, as ONNX's default noop_with_empty_axes = 0),
 * ArgMax/ArgMin, TopK (values and int64 indices; ties keep the lower index), Softmax, LogSoftmax.
 */
import type { Tensor } from "../ir.js";
import { type NDArray, ndarray, sizeOf, stridesOf, unravel } from "../ndarray.js";
import { constInts } from "./shape.js";
import { intAttr, normAxis, type OpSpec } from "./spec.js";

function reducedShape(shape: readonly number[], axes: number[], keep: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (axes.includes(i)) {
      if (keep) out.push(1);
    } else out.push(d);
  });
  return out;
}

/** Normalised reduction axes; absent or empty means every axis (ONNX, noop_with_empty_axes = 0). */
export function reductionAxesOf(rank: number, axes: ArrayLike<number> | undefined): number[] {
  if (!axes || axes.length === 0) return Array.from({ length: rank }, (_, i) => i);
  return Array.from(axes, (a) => normAxis(a, rank));
}

/** An axis attribute normalised, or a shape error when it is outside [-rank, rank). */
function checkedAxis(axis: number, rank: number, fail: (d: string) => never): number {
  if (axis < -rank || axis >= rank) fail(`axis ${axis} is out of range for rank ${rank}`);
  return normAxis(axis, rank);
}

function reduceAxes(inputs: readonly Tensor[], fail: (d: string) => never): number[] {
  const x = inputs[0];
  const axes = reductionAxesOf(x.rank, inputs[1] ? constInts(inputs[1], "axes", fail) : undefined);
  if (axes.some((a) => a < 0 || a >= x.rank)) fail(`axes out of range for rank ${x.rank}`);
  return axes;
}

/** Visit every reduced group: `visit(outOffset, inOffset)` for each element of each group. */
function forEachReduced(
  x: NDArray,
  axes: number[],
  visit: (outOffset: number, inOffset: number) => void,
): number[] {
  const outShapeKeep = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outStrides = stridesOf(outShapeKeep);
  const index = new Array<number>(x.shape.length).fill(0);
  for (let i = 0; i < x.data.length; i++) {
    unravel(i, x.shape, index);
    let o = 0;
    for (let a = 0; a < index.length; a++) if (!axes.includes(a)) o += index[a] * outStrides[a];
    visit(o, i);
  }
  return outShapeKeep;
}

function reduction(
  init: number,
  combine: (acc: number, v: number) => number,
  finish: (acc: number, count: number) => number = (a) => a,
): OpSpec {
  return {
    infer: (inputs, attrs, fail) => {
      const axes = reduceAxes(inputs, fail);
      return [
        {
          dtype: inputs[0].dtype,
          shape: reducedShape(inputs[0].shape, axes, intAttr(attrs, "keepdims", 1) === 1),
        },
      ];
    },
    evaluate: ([x, axesArr], attrs) => {
      const axes = reductionAxesOf(x.shape.length, axesArr?.data);
      const keep = intAttr(attrs, "keepdims", 1) === 1;
      const outSize = sizeOf(x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
      const acc = new Float64Array(outSize).fill(init);
      forEachReduced(x, axes, (o, i) => {
        acc[o] = combine(acc[o], x.data[i]);
      });
      const count = x.data.length / outSize;
      const out = ndarray(x.dtype, reducedShape(x.shape, axes, keep));
      for (let o = 0; o < outSize; o++) out.data[o] = finish(acc[o], count);
      return [out];
    },
  };
}

function argReduce(better: (a: number, b: number) => boolean): OpSpec {
  return {
    infer: (inputs, attrs, fail) => {
      const axis = checkedAxis(intAttr(attrs, "axis", 0), inputs[0].rank, fail);
      return [
        { dtype: "int64", shape: reducedShape(inputs[0].shape, [axis], intAttr(attrs, "keepdims", 1) === 1) },
      ];
    },
    evaluate: ([x], attrs) => {
      const axis = normAxis(intAttr(attrs, "axis", 0), x.shape.length);
      const keep = intAttr(attrs, "keepdims", 1) === 1;
      const outSize = x.data.length / x.shape[axis];
      const best = new Float64Array(outSize).fill(Number.NaN);
      const arg = new Float64Array(outSize);
      const index = new Array<number>(x.shape.length).fill(0);
      forEachReduced(x, [axis], (o, i) => {
        unravel(i, x.shape, index);
        if (Number.isNaN(best[o]) || better(x.data[i], best[o])) {
          best[o] = x.data[i];
          arg[o] = index[axis];
        }
      });
      return [ndarray("int64", reducedShape(x.shape, [axis], keep), arg)];
    },
  };
}

/** Apply `fn` to every 1-D lane along `axis` (a copy of the lane in, the new lane out). */
export function mapLanes(x: NDArray, axis: number, fn: (lane: Float64Array) => Float64Array): NDArray {
  const n = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const outer = sizeOf(x.shape.slice(0, axis));
  const out = ndarray(x.dtype, x.shape);
  const lane = new Float64Array(n);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      for (let j = 0; j < n; j++) lane[j] = x.data[(o * n + j) * inner + k];
      const result = fn(lane);
      for (let j = 0; j < n; j++) out.data[(o * n + j) * inner + k] = result[j];
    }
  }
  return out;
}

function softmaxLane(lane: Float64Array, log: boolean): Float64Array {
  const max = Math.max(...lane);
  let sum = 0;
  for (const v of lane) sum += Math.exp(v - max);
  return lane.map((v) => (log ? v - max - Math.log(sum) : Math.exp(v - max) / sum));
}

function softmaxSpec(log: boolean): OpSpec {
  return {
    infer: (inputs, attrs, fail) => {
      checkedAxis(intAttr(attrs, "axis", -1), inputs[0].rank, fail);
      return [{ dtype: inputs[0].dtype, shape: [...inputs[0].shape] }];
    },
    evaluate: ([x], attrs) => [
      mapLanes(x, normAxis(intAttr(attrs, "axis", -1), x.shape.length), (l) => softmaxLane(l, log)),
    ],
  };
}

export const reduceOps: Record<string, OpSpec> = {
  ReduceSum: reduction(0, (a, v) => a + v),
  ReduceMean: reduction(
    0,
    (a, v) => a + v,
    (a, n) => a / n,
  ),
  ReduceMax: reduction(Number.NEGATIVE_INFINITY, (a, v) => Math.max(a, v)),
  ReduceMin: reduction(Number.POSITIVE_INFINITY, (a, v) => Math.min(a, v)),
  ArgMax: argReduce((a, b) => a > b),
  ArgMin: argReduce((a, b) => a < b),
  Softmax: softmaxSpec(false),
  LogSoftmax: softmaxSpec(true),
  TopK: {
    infer: (inputs, attrs, fail) => {
      const x = inputs[0];
      const axis = checkedAxis(intAttr(attrs, "axis", -1), x.rank, fail);
      const [k] = constInts(inputs[1], "K", fail);
      if (k > x.shape[axis] || k < 1) fail(`K=${k} is out of range for axis size ${x.shape[axis]}`);
      const shape = [...x.shape];
      shape[axis] = k;
      return [
        { dtype: x.dtype, shape },
        { dtype: "int64", shape: [...shape] },
      ];
    },
    evaluate: ([x, kArr], attrs) => {
      const axis = normAxis(intAttr(attrs, "axis", -1), x.shape.length);
      const largest = intAttr(attrs, "largest", 1) === 1;
      const k = kArr.data[0];
      const n = x.shape[axis];
      const inner = sizeOf(x.shape.slice(axis + 1));
      const outer = sizeOf(x.shape.slice(0, axis));
      const shape = [...x.shape];
      shape[axis] = k;
      const values = ndarray(x.dtype, shape);
      const indices = ndarray("int64", shape);
      for (let o = 0; o < outer; o++) {
        for (let c = 0; c < inner; c++) {
          const order = Array.from({ length: n }, (_, j) => j);
          const at = (j: number) => x.data[(o * n + j) * inner + c];
          order.sort((a, b) => (largest ? at(b) - at(a) : at(a) - at(b)) || a - b);
          for (let j = 0; j < k; j++) {
            values.data[(o * k + j) * inner + c] = at(order[j]);
            indices.data[(o * k + j) * inner + c] = order[j];
          }
        }
      }
      return [values, indices];
    },
  },
};
