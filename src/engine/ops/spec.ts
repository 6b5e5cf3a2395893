/**
 * What every primitive op declares: shape/type inference (run while tracing) and a float64 reference
 * evaluation (run by the reference executor in tests). The ONNX emission is 1:1 (op type, inputs,
 * attributes) except for graph-only ops, which declare how they lower; `floatAttrs` says which numeric attributes are ONNX FLOAT rather than INT.
 * Derivatives live in one table, src/engine/autodiff/rules.ts.
 */
import type { Attrs, InferFn } from "../ir.js";
import type { NDArray } from "../ndarray.js";

export interface OpSpec {
  infer: InferFn;
  evaluate: (inputs: NDArray[], attrs: Attrs) => NDArray[];
  floatAttrs?: readonly string[];
  /** For graph-only ops: the ONNX op they become and which of their inputs it keeps. */
  lower?: { op: string; inputs: number[] };
}

export function intAttr(attrs: Attrs, name: string, fallback?: number): number {
  const v = attrs[name];
  if (v === undefined) {
    if (fallback === undefined) throw new Error(`missing attribute ${name}`);
    return fallback;
  }
  if (typeof v !== "number") throw new Error(`attribute ${name} must be a number`);
  return v;
}

export function intsAttr(attrs: Attrs, name: string, fallback?: number[]): number[] {
  const v = attrs[name];
  if (v === undefined) {
    if (fallback === undefined) throw new Error(`missing attribute ${name}`);
    return fallback;
  }
  if (!Array.isArray(v)) throw new Error(`attribute ${name} must be a list`);
  return v;
}

/** Normalise a possibly negative axis for a given rank. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
