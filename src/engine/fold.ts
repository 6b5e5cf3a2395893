/**
 * Folding for graphs with frozen weights (inference functions, see `FunctionOptions.frozen`): a
 * per-channel affine map that follows a transposed convolution, y = ConvTranspose(x, W, b)·c + e (what
 * an eval-mode batch norm after a ConvTranspose traces to), becomes one ConvTranspose with weights
 * W·c and bias b·c + e. ONNX Runtime does this itself for Conv (and then fuses the activation), not for
 * ConvTranspose. The scale and shift are computed with the reference executor from the frozen values;
 * the graph is changed in place and the nodes it no longer needs drop out when it is compiled.
 */
import type { Graph, Node, Tensor } from "./ir.js";
import { ndarray } from "./ndarray.js";
import { opSpec } from "./ops/registry.js";
import { evaluateReference } from "./reference.js";

/** Tensors whose values follow from constants and frozen inputs alone. */
function frozenComputable(graph: Graph, frozen: ReadonlyMap<string, Float32Array>): Set<number> {
  const known = new Set<number>();
  for (const t of graph.inputs) if (frozen.has(t.inputName!)) known.add(t.id);
  for (const c of graph.constants) known.add(c.id);
  for (const node of graph.nodes) {
    const spec = opSpec(node.op);
    const inputs = spec.lower ? spec.lower.inputs.map((k) => node.inputs[k]) : node.inputs;
    if (inputs.every((t) => known.has(t.id))) for (const o of node.outputs) known.add(o.id);
  }
  return known;
}

/** The nodes that read each tensor. */
function consumers(graph: Graph): Map<number, Node[]> {
  const uses = new Map<number, Node[]>();
  for (const node of graph.nodes) {
    for (const t of node.inputs) {
      const list = uses.get(t.id) ?? [];
      list.push(node);
      uses.set(t.id, list);
    }
  }
  return uses;
}

/**
 * Fold `ConvTranspose → Mul(c) → Add(e)` with frozen weights and per-channel c and e into the
 * ConvTranspose; `outputs` entries that named the Add's result are redirected. Returns the number of
 * folds.
 */
export function foldConvTransposeAffine(
  graph: Graph,
  outputs: Record<string, Tensor>,
  frozen: ReadonlyMap<string, Float32Array>,
): number {
  const known = frozenComputable(graph, frozen);
  const uses = consumers(graph);
  const outputIds = new Set(Object.values(outputs).map((t) => t.id));
  const onlyUse = (t: Tensor): Node | undefined => {
    const list = uses.get(t.id) ?? [];
    return list.length === 1 && !outputIds.has(t.id) ? list[0] : undefined;
  };
  const feeds: Record<string, ArrayLike<number>> = {};
  for (const t of graph.inputs) feeds[t.inputName!] = frozen.get(t.inputName!) ?? new Float32Array(t.size);
  let folds = 0;
  for (const conv of [...graph.nodes]) {
    if (conv.op !== "ConvTranspose" || conv.attrs.group !== 1) continue;
    const [, w, b] = conv.inputs;
    if (!known.has(w.id) || (b && !known.has(b.id))) continue;
    const mul = onlyUse(conv.outputs[0]);
    if (mul?.op !== "Mul") continue;
    const scale = mul.inputs[mul.inputs[0] === conv.outputs[0] ? 1 : 0];
    const add = onlyUse(mul.outputs[0]);
    if (add?.op !== "Add") continue;
    const shift = add.inputs[add.inputs[0] === mul.outputs[0] ? 1 : 0];
    const channels = w.shape[1];
    const perChannel = (t: Tensor) =>
      known.has(t.id) && t.rank === 4 && t.shape.join() === [1, channels, 1, 1].join();
    if (!perChannel(scale) || !perChannel(shift)) continue;
    const [wv, c, e, bv] = evaluateReference(graph, feeds, b ? [w, scale, shift, b] : [w, scale, shift]);
    const spatial = w.shape[2] * w.shape[3];
    const weight = Float64Array.from(wv.data, (v, i) => v * c.data[Math.floor(i / spatial) % channels]);
    const bias = Float64Array.from(e.data, (v, o) => v + (bv ? bv.data[o] * c.data[o] : 0));
    conv.inputs[1] = graph.constant(ndarray("float32", w.shape, weight));
    conv.inputs[2] = graph.constant(ndarray("float32", [channels], bias));
    const folded = add.outputs[0];
    for (const node of graph.nodes)
      node.inputs.forEach((t, i) => {
        if (t === folded) node.inputs[i] = conv.outputs[0];
      });
    for (const [name, t] of Object.entries(outputs)) if (t === folded) outputs[name] = conv.outputs[0];
    folds++;
  }
  return folds;
}
