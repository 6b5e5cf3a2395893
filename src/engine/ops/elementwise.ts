/**
 * Element-wise primitives: unary maths and activations, binary arithmetic and comparisons with numpy
 * broadcasting, Where, Clip, Cast. ONNX semantics (opset 18).
 */
import type { DType, OutputType, Tensor } from "../ir.js";
import { broadcastIndex, broadcastShapes, ndarray } from "../ndarray.js";
import type { OpSpec } from "./spec.js";

function unary(fn: (x: number, attrs: Record<string, unknown>) => number, dtype?: DType): OpSpec {
  return {
    infer: (inputs, _attrs, fail) => {
      if (inputs.length !== 1) fail("expects one input");
      return [{ dtype: dtype ?? inputs[0].dtype, shape: [...inputs[0].shape] }];
    },
    evaluate: ([x], attrs) => {
      const out = ndarray(dtype ?? x.dtype, x.shape);
      for (let i = 0; i < x.data.length; i++) out.data[i] = fn(x.data[i], attrs);
      return [out];
    },
  };
}

function inferBroadcast(inputs: readonly Tensor[], fail: (d: string) => never): number[] {
  const shape = broadcastShapes(...inputs.map((t) => t.shape));
  if (!shape) fail("shapes do not broadcast");
  return shape!;
}

function nary(arity: number, fn: (args: number[]) => number, outDtype?: DType, sameDtype = true): OpSpec {
  return {
    infer: (inputs, _attrs, fail): OutputType[] => {
      if (inputs.length !== arity) fail(`expects ${arity} inputs`);
      const shape = inferBroadcast(inputs, fail);
      if (sameDtype) {
        const dts = new Set(inputs.slice(arity === 3 ? 1 : 0).map((t) => t.dtype));
        if (dts.size > 1) fail(`inputs have different dtypes (${[...dts].join(", ")})`);
      }
      return [{ dtype: outDtype ?? inputs[arity === 3 ? 1 : 0].dtype, shape }];
    },
    evaluate: (inputs) => {
      const shape = broadcastShapes(...inputs.map((t) => t.shape))!;
      const maps = inputs.map((t) => broadcastIndex(t.shape, shape));
      const out = ndarray(outDtype ?? inputs[arity === 3 ? 1 : 0].dtype, shape);
      const args = new Array<number>(arity);
      for (let o = 0; o < out.data.length; o++) {
        for (let k = 0; k < arity; k++) args[k] = inputs[k].data[maps[k][o]];
        out.data[o] = fn(args);
      }
      return [out];
    },
  };
}

const erf = (x: number): number => {
  // Taylor series near 0, continued fraction of erfc in the tails: accurate to ~1e-15 for gradient tests.
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let sum = x;
    let term = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
};

export const elementwiseOps: Record<string, OpSpec> = {
  Identity: unary((x) => x),
  Neg: unary((x) => -x),
  Abs: unary((x) => Math.abs(x)),
  Sign: unary((x) => Math.sign(x)),
  Sqrt: unary((x) => Math.sqrt(x)),
  Reciprocal: unary((x) => 1 / x),
  Exp: unary((x) => Math.exp(x)),
  Log: unary((x) => Math.log(x)),
  Relu: unary((x) => Math.max(x, 0)),
  Sigmoid: unary((x) => 1 / (1 + Math.exp(-x))),
  Tanh: unary((x) => Math.tanh(x)),
  Erf: unary(erf),
  Not: unary((x) => (x ? 0 : 1), "bool"),
  LeakyRelu: {
    ...unary((x, attrs) => (x >= 0 ? x : x * (attrs.alpha as number))),
    floatAttrs: ["alpha"],
  },
  Add: nary(2, ([a, b]) => a + b),
  Sub: nary(2, ([a, b]) => a - b),
  Mul: nary(2, ([a, b]) => a * b),
  Div: nary(2, ([a, b]) => a / b),
  Pow: nary(2, ([a, b]) => a ** b),
  Max: nary(2, ([a, b]) => Math.max(a, b)),
  Min: nary(2, ([a, b]) => Math.min(a, b)),
  Equal: nary(2, ([a, b]) => (a === b ? 1 : 0), "bool"),
  Greater: nary(2, ([a, b]) => (a > b ? 1 : 0), "bool"),
  Less: nary(2, ([a, b]) => (a < b ? 1 : 0), "bool"),
  GreaterOrEqual: nary(2, ([a, b]) => (a >= b ? 1 : 0), "bool"),
  LessOrEqual: nary(2, ([a, b]) => (a <= b ? 1 : 0), "bool"),
  And: nary(2, ([a, b]) => (a && b ? 1 : 0), "bool"),
  Or: nary(2, ([a, b]) => (a || b ? 1 : 0), "bool"),
  Where: nary(3, ([c, a, b]) => (c ? a : b)),
  Clip: {
    infer: (inputs, _attrs, fail) => {
      if (inputs.length !== 3) fail("expects input, min, max");
      if (inputs[1].rank !== 0 || inputs[2].rank !== 0) fail("min and max must be scalars");
      return [{ dtype: inputs[0].dtype, shape: [...inputs[0].shape] }];
    },
    evaluate: ([x, lo, hi]) => {
      const out = ndarray(x.dtype, x.shape);
      for (let i = 0; i < x.data.length; i++)
        out.data[i] = Math.min(Math.max(x.data[i], lo.data[0]), hi.data[0]);
      return [out];
    },
  },
  Cast: {
    infer: (inputs, attrs, fail) => {
      if (inputs.length !== 1) fail("expects one input");
      return [{ dtype: onnxCodeToDtype(attrs.to as number), shape: [...inputs[0].shape] }];
    },
    evaluate: ([x], attrs) => {
      const dtype = onnxCodeToDtype(attrs.to as number);
      const out = ndarray(dtype, x.shape);
      for (let i = 0; i < x.data.length; i++) {
        const v = x.data[i];
        // `+ 0` turns the -0 of Math.trunc(-0.5) into the integer 0.
        out.data[i] = dtype === "bool" ? (v ? 1 : 0) : dtype === "int64" ? Math.trunc(v) + 0 : Math.fround(v);
      }
      return [out];
    },
  },
};

/** ONNX TensorProto.DataType codes. */
export const onnxDtypeCode: Record<DType, number> = { float32: 1, int64: 7, bool: 9 };

export function onnxCodeToDtype(code: number): DType {
  const entry = Object.entries(onnxDtypeCode).find(([, c]) => c === code);
  if (!entry) throw new Error(`unsupported ONNX dtype code ${code}`);
  return entry[0] as DType;
}
