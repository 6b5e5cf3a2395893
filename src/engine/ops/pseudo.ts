/**
 * Graph-only ops that steer differentiation and lower to ONNX Identity: StopGradient (value of x, no
 * gradient) and StraightThrough (value of input 0, gradient delivered to input 1).
 */
import { ndarray } from "../ndarray.js";
import type { OpSpec } from "./spec.js";

export const pseudoOps: Record<string, OpSpec> = {
  StopGradient: {
    infer: ([x]) => [{ dtype: x.dtype, shape: [...x.shape] }],
    evaluate: ([x]) => [ndarray(x.dtype, x.shape, x.data)],
    lower: { op: "Identity", inputs: [0] },
  },
  StraightThrough: {
    infer: ([value, gradientSource], _attrs, fail) => {
      if (value.shape.join() !== gradientSource.shape.join())
        fail("value and gradient source must have one shape");
      return [{ dtype: value.dtype, shape: [...value.shape] }];
    },
    evaluate: ([value]) => [ndarray(value.dtype, value.shape, value.data)],
    lower: { op: "Identity", inputs: [0] },
  },
};
