/** The table of every primitive op the engine can record, compile and evaluate. */
import { convOps } from "./conv.js";
import { elementwiseOps } from "./elementwise.js";
import { indexingOps } from "./indexing.js";
import { linalgOps } from "./linalg.js";
import { pseudoOps } from "./pseudo.js";
import { reduceOps } from "./reduce.js";
import { shapeOps } from "./shape.js";
import type { OpSpec } from "./spec.js";

export const opSpecs: Record<string, OpSpec> = {
  ...elementwiseOps,
  ...shapeOps,
  ...reduceOps,
  ...linalgOps,
  ...indexingOps,
  ...convOps,
  ...pseudoOps,
};

export function opSpec(op: string): OpSpec {
  const spec = opSpecs[op];
  if (!spec) throw new Error(`unknown op ${op}`);
  return spec;
}
