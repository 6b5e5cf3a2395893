/**
 * Reverse-mode differentiation on the traced graph: walk the nodes that lie between the requested
 * inputs and the scalar loss in reverse creation order, apply each op's rule from `vjpRules`, and sum
 * cotangents that reach a tensor from several uses. The result is more nodes in the same graph.
 * With `recompute`, rules read forward values through `Recomputed`: a value `recomputeRules` can
 * rebuild from what the backward pass keeps anyway is recomputed where the backward first reads it,
 * not kept from the forward (less memory for a few more element-wise passes).
 */
import * as T from "../api.js";
import type { Node, Tensor } from "../ir.js";
import { nonDifferentiable, recomputeRules, vjpRules } from "./rules.js";

export interface GradOptions {
  /** Recompute cheap forward values in the backward pass (`recomputeRules`) instead of keeping them. */
  recompute?: boolean;
}

/** Gradients of a scalar `loss` with respect to each tensor in `wrt` (zeros where it does not depend). */
export function grad(loss: Tensor, wrt: readonly Tensor[], options: GradOptions = {}): Tensor[] {
  if (loss.size !== 1)
    throw new Error(`grad: the loss must have one element, got shape [${loss.shape.join(", ")}]`);
  if (loss.dtype !== "float32") throw new Error("grad: the loss must be float32");
  const graph = loss.graph;
  const wanted = new Set(wrt.map((t) => t.id));

  // Forward pass over nodes: which tensors depend on something in `wrt`.
  const dependsOnWrt = new Set<number>(wanted);
  const nodes = graph.nodes.filter((node) => {
    if (nonDifferentiable.has(node.op)) return false;
    if (!node.inputs.some((t) => dependsOnWrt.has(t.id))) return false;
    for (const out of node.outputs) if (out.dtype === "float32") dependsOnWrt.add(out.id);
    return true;
  });

  const cotangents = new Map<number, Tensor>([[loss.id, T.full(loss.shape, 1)]]);
  const accumulate = (t: Tensor, g: Tensor): void => {
    if (g.shape.join() !== t.shape.join()) {
      throw new Error(`internal: cotangent shape [${g.shape}] for a tensor of shape [${t.shape}]`);
    }
    const previous = cotangents.get(t.id);
    cotangents.set(t.id, previous ? T.add(previous, g) : g);
  };

  const recomputed = options.recompute ? new Recomputed() : undefined;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    const outGrads = node.outputs.map((o) => cotangents.get(o.id));
    if (outGrads.every((g) => g === undefined)) continue;
    const rule = vjpRules[node.op];
    if (!rule) throw new Error(`no derivative rule for ${node.op} (node ${node.name})`);
    graph.pushScope(`grad(${node.scope || node.op})`);
    let inGrads: Array<Tensor | undefined>;
    try {
      inGrads = rule(recomputed?.view(node) ?? node, outGrads);
    } finally {
      graph.popScope();
    }
    node.inputs.forEach((input, k) => {
      const g = inGrads[k];
      if (g && input.dtype === "float32" && dependsOnWrt.has(input.id)) accumulate(input, g);
    });
  }
  return wrt.map((t) => cotangents.get(t.id) ?? T.zerosLike(t));
}

/**
 * Forward values as the backward pass reads them: each value `recomputeRules` can rebuild is emitted
 * again on its first read (inside the rule's scope, so at that point of the backward pass) and that copy
 * is shared by later reads; every other value is the forward's own.
 */
class Recomputed {
  private readonly copies = new Map<number, Tensor | undefined>();

  /** The node with its inputs and outputs replaced by their recomputed copies where there are any. */
  view(node: Node): Node {
    const read = (t: Tensor) => this.copy(t) ?? t;
    const inputs = node.inputs.map(read);
    const outputs = node.outputs.map(read);
    if (inputs.every((t, k) => t === node.inputs[k]) && outputs.every((t, k) => t === node.outputs[k]))
      return node;
    return Object.assign(Object.create(Object.getPrototypeOf(node)) as Node, node, { inputs, outputs });
  }

  /** The recomputed copy of `t`, or undefined when its producer has no recompute rule (or cannot use it). */
  private copy(t: Tensor): Tensor | undefined {
    if (this.copies.has(t.id)) return this.copies.get(t.id);
    const producer = t.producer;
    const rule = producer && producer.outputs.length === 1 ? recomputeRules[producer.op] : undefined;
    const value = rule?.(producer!, (k) => this.copy(producer!.inputs[k]));
    this.copies.set(t.id, value);
    return value;
  }
}
