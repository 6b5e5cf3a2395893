/**
 * The reference executor: a slow, exact float64 interpreter of the IR. Tests use it to check every
 * op's ONNX Runtime output and every derivative rule against finite differences.
 */
import type { Graph, Tensor } from "./ir.js";
import { type NDArray, ndarray } from "./ndarray.js";
import { liveNodes } from "./onnx.js";
import { opSpec } from "./ops/registry.js";

/** Evaluate `outputs` of `graph` given feeds (by graph input name), in float64. */
export function evaluateReference(
  graph: Graph,
  feeds: Record<string, ArrayLike<number>>,
  outputs: readonly Tensor[],
): NDArray[] {
  const values = new Map<number, NDArray>();
  for (const input of graph.inputs) {
    const data = feeds[input.inputName!];
    if (data === undefined) throw new Error(`reference: missing feed "${input.inputName}"`);
    values.set(input.id, ndarray(input.dtype, input.shape, data));
  }
  for (const c of graph.constants) values.set(c.id, c.constValue!);
  for (const node of liveNodes(graph, outputs)) {
    const spec = opSpec(node.op);
    const inputs = spec.lower ? spec.lower.inputs.map((k) => node.inputs[k]) : node.inputs;
    const args = inputs.map((t) => {
      const v = values.get(t.id);
      if (!v) throw new Error(`reference: ${node.name} reads a value that was not computed`);
      return v;
    });
    const results = spec.evaluate(args, node.attrs);
    node.outputs.forEach((o, i) => {
      values.set(o.id, results[i]);
    });
  }
  return outputs.map((t) => {
    const v = values.get(t.id);
    if (!v) throw new Error("reference: output not computed");
    return v;
  });
}
