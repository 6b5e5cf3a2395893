/**
 * Graph-only ops that steer differentiation and lower to ONNX Identity: StopGradient (value of x, no
 * gradient), StraightThrough (value of input 0, gradient delivered to input 1) and BatchNormTrain
 * (value of input 0, the normalised output y = γ·x̂ + β traced without gradients; the rule delivers the
 * closed-form batch-norm gradient to x, γ and β, see `batchNormTrain` in api.ts).
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
  BatchNormTrain: {
    infer: (inputs, attrs, fail) => {
      const [y, x, xhat, rstd, gamma, beta] = inputs;
      if (inputs.length !== 6) fail("expects y, x, x̂, rstd, γ, β");
      if (y.shape.join() !== x.shape.join() || xhat.shape.join() !== x.shape.join())
        fail("y, x and x̂ must have one shape");
      const axes = attrs.axes as number[];
      const perChannel = x.shape.map((d, i) => (axes.includes(i) ? 1 : d)).join();
      for (const t of [rstd, gamma, beta])
        if (t.shape.join() !== perChannel) fail("rstd, γ and β must have the reduced shape (kept dims)");
      return [{ dtype: y.dtype, shape: [...y.shape] }];
    },
    evaluate: ([value]) => [ndarray(value.dtype, value.shape, value.data)],
    lower: { op: "Identity", inputs: [0] },
  },
};
