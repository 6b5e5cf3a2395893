/**
 * The graph IR and the tracer.
 *
 * A `Graph` is a list of `Node`s in creation order (which is a topological order), named graph inputs,
 * constants and named outputs. Op types and attributes are ONNX's, so compiling to ONNX is a 1:1
 * translation. Tensor-valued operands that ONNX takes as inputs (a Reshape's shape, a Slice's starts)
 * are constant `Tensor`s whose value is known while tracing, so shape inference can read them.
 *
 * Tracing: `trace(fn)` makes a fresh graph current; every op called inside appends a node to it.
 * `withScope(name, fn)` names the layer that errors and ONNX node names report.
 */
import { ShapeError } from "./errors.js";
import type { DType, NDArray } from "./ndarray.js";

export type { DType };

/** Attribute values are ONNX's; which numeric attributes are floats is declared by the op's spec. */
export type AttrValue = number | number[] | string;
export type Attrs = Record<string, AttrValue>;

export class Node {
  constructor(
    readonly id: number,
    readonly op: string,
    readonly inputs: Tensor[],
    readonly attrs: Attrs,
    readonly scope: string,
    public outputs: Tensor[] = [],
  ) {}

  get name(): string {
    return `${this.scope ? `${this.scope}/` : ""}${this.op}_${this.id}`;
  }
}

/** A symbolic tensor: one value of one graph, with a static shape. */
export class Tensor {
  /** Set for constants: the value, known at trace time. */
  constValue: NDArray | undefined;
  /** Set for graph inputs: the feed name. */
  inputName: string | undefined;

  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly producer: Node | undefined,
    readonly outputIndex = 0,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    let n = 1;
    for (const d of this.shape) n *= d;
    return n;
  }

  toString(): string {
    return `Tensor(${this.dtype}[${this.shape.join(", ")}])`;
  }
}

export interface OutputType {
  dtype: DType;
  shape: number[];
}

/** Shape/type inference of one op: validates inputs and attributes, returns output types. */
export type InferFn = (
  inputs: readonly Tensor[],
  attrs: Attrs,
  fail: (detail: string) => never,
) => OutputType[];

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  readonly constants: Tensor[] = [];
  outputs: Array<{ name: string; tensor: Tensor }> = [];
  private nextId = 0;
  private readonly scopes: string[] = [];

  get scope(): string {
    return this.scopes.join("/");
  }

  pushScope(name: string): void {
    this.scopes.push(name);
  }

  popScope(): void {
    this.scopes.pop();
  }

  input(name: string, dtype: DType, shape: readonly number[]): Tensor {
    if (this.inputs.some((t) => t.inputName === name))
      throw new Error(`graph input "${name}" declared twice`);
    const t = new Tensor(this, this.nextId++, dtype, [...shape], undefined);
    t.inputName = name;
    this.inputs.push(t);
    return t;
  }

  constant(value: NDArray): Tensor {
    const t = new Tensor(this, this.nextId++, value.dtype, [...value.shape], undefined);
    t.constValue = value;
    this.constants.push(t);
    return t;
  }

  /** Append a node after checking its inputs with `infer`; returns its outputs. */
  addNode(op: string, inputs: Tensor[], attrs: Attrs, infer: InferFn): Tensor[] {
    for (const input of inputs) {
      if (input.graph !== this) throw new Error(`${op}: an input belongs to another graph (mixing traces)`);
    }
    const scope = this.scope;
    const fail = (detail: string): never => {
      throw new ShapeError(
        op,
        scope,
        inputs.map((t) => t.shape),
        detail,
      );
    };
    const types = infer(inputs, attrs, fail);
    const node = new Node(this.nextId++, op, inputs, attrs, scope);
    node.outputs = types.map((type, i) => new Tensor(this, this.nextId++, type.dtype, type.shape, node, i));
    this.nodes.push(node);
    return node.outputs;
  }

  setOutputs(outputs: Record<string, Tensor>): void {
    this.outputs = Object.entries(outputs).map(([name, tensor]) => {
      if (tensor.graph !== this) throw new Error(`output "${name}" belongs to another graph`);
      return { name, tensor };
    });
  }
}

const graphStack: Graph[] = [];

/** The graph ops are currently recorded into. */
export function currentGraph(): Graph {
  const g = graphStack[graphStack.length - 1];
  if (!g) throw new Error("no graph is being traced: call tensor ops inside trace(...)");
  return g;
}

/** Run `fn` with a fresh graph as the current one and return both. */
export function trace<T>(fn: (graph: Graph) => T): { graph: Graph; result: T } {
  const graph = new Graph();
  graphStack.push(graph);
  try {
    return { graph, result: fn(graph) };
  } finally {
    graphStack.pop();
  }
}

/** Name the layer for errors and ONNX node names while `fn` runs. */
export function withScope<T>(name: string, fn: () => T): T {
  const g = currentGraph();
  g.pushScope(name);
  try {
    return fn();
  } finally {
    g.popScope();
  }
}
