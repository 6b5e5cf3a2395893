/**
 * IR -> ONNX ModelProto (opset 18), encoded with `onnx-proto` (the generated protobuf classes of the
 * official onnx.proto). Only nodes that the outputs need are emitted (dead-node removal); graph-only
 * ops lower to Identity; an output that is produced by a node takes the output's name directly, so
 * no copy is added for it.
 */
import onnxProto from "onnx-proto";
import type { AttrValue, Graph, Node, Tensor } from "./ir.js";
import { onnxDtypeCode } from "./ops/elementwise.js";
import { opSpec } from "./ops/registry.js";

const { onnx } = onnxProto;

export const OPSET = 18;

/** Nodes needed to compute `outputs`, in graph order. */
export function liveNodes(graph: Graph, outputs: readonly Tensor[]): Node[] {
  const needed = new Set<number>(outputs.map((t) => t.id));
  const live: Node[] = [];
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i];
    if (!node.outputs.some((o) => needed.has(o.id))) continue;
    live.push(node);
    const spec = opSpec(node.op);
    const inputs = spec.lower ? spec.lower.inputs.map((k) => node.inputs[k]) : node.inputs;
    for (const input of inputs) needed.add(input.id);
  }
  return live.reverse();
}

function tensorTypeProto(t: { dtype: Tensor["dtype"]; shape: readonly number[] }) {
  return {
    tensorType: { elemType: onnxDtypeCode[t.dtype], shape: { dim: t.shape.map((d) => ({ dimValue: d })) } },
  };
}

function attributeProto(name: string, value: AttrValue, isFloat: boolean) {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof value === "string") return { name, type: A.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value))
    return isFloat ? { name, type: A.FLOATS, floats: value } : { name, type: A.INTS, ints: value };
  return isFloat ? { name, type: A.FLOAT, f: value } : { name, type: A.INT, i: value };
}

function initializer(name: string, t: Tensor) {
  const value = t.constValue!;
  const base = { name, dims: value.shape, dataType: onnxDtypeCode[value.dtype] };
  if (value.dtype === "float32") {
    const data = Float32Array.from(value.data);
    return { ...base, rawData: new Uint8Array(data.buffer) };
  }
  if (value.dtype === "int64") {
    const data = BigInt64Array.from(value.data, (v) => BigInt(v));
    return { ...base, rawData: new Uint8Array(data.buffer) };
  }
  return { ...base, rawData: Uint8Array.from(value.data) };
}

type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** A GraphProto with its lists always present, so callers can extend it. */
export interface GraphProtoParts {
  name: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
}

export interface GraphProtoOptions {
  name?: string;
  /** Graph inputs to freeze as initializers with these values (e.g. trained weights for export). */
  frozen?: ReadonlyMap<string, Float32Array>;
}

/** The ONNX GraphProto (as a plain object for `onnx.GraphProto.create`) of `graph` with named outputs. */
export function buildGraphProto(
  graph: Graph,
  outputs: ReadonlyArray<{ name: string; tensor: Tensor }>,
  options: GraphProtoOptions = {},
): GraphProtoParts {
  const names = new Map<number, string>();
  for (const input of graph.inputs) names.set(input.id, input.inputName!);
  const extraIdentities: Array<{ from: Tensor; to: string }> = [];
  const outputNames = new Set<string>();
  for (const { name, tensor } of outputs) {
    if (outputNames.has(name)) throw new Error(`output name "${name}" used twice`);
    outputNames.add(name);
    if (tensor.producer && !names.has(tensor.id)) names.set(tensor.id, name);
    else extraIdentities.push({ from: tensor, to: name });
  }
  const nameOf = (t: Tensor): string => {
    let n = names.get(t.id);
    if (!n) {
      n = t.constValue ? `const_${t.id}` : `t${t.id}`;
      names.set(t.id, n);
    }
    return n;
  };

  const nodes = liveNodes(
    graph,
    outputs.map((o) => o.tensor),
  );
  const nodeProtos: NodeProto[] = nodes.map((node) => {
    const spec = opSpec(node.op);
    const inputs = spec.lower ? spec.lower.inputs.map((k) => node.inputs[k]) : node.inputs;
    const attrs = spec.lower ? {} : node.attrs;
    return {
      name: node.name,
      opType: spec.lower ? spec.lower.op : node.op,
      input: inputs.map(nameOf),
      output: node.outputs.map(nameOf),
      attribute: Object.entries(attrs).map(([k, v]) =>
        attributeProto(k, v, spec.floatAttrs?.includes(k) ?? false),
      ),
    };
  });
  for (const { from, to } of extraIdentities) {
    nodeProtos.push({
      name: `output_${to}`,
      opType: "Identity",
      input: [nameOf(from)],
      output: [to],
      attribute: [],
    });
  }
  const frozen = options.frozen ?? new Map<string, Float32Array>();
  const usedConstants = graph.constants.filter((c) => names.has(c.id));
  // Only frozen inputs that something reads become initializers (ORT warns about unused ones).
  const readNames = new Set(nodeProtos.flatMap((n) => n.input ?? []));
  const frozenInputs = graph.inputs.filter((t) => frozen.has(t.inputName!) && readNames.has(t.inputName!));
  for (const t of frozenInputs) {
    if (frozen.get(t.inputName!)!.length !== t.size)
      throw new Error(`frozen value for "${t.inputName}" has the wrong size`);
  }
  return {
    name: options.name ?? "anomalyscope",
    node: nodeProtos,
    initializer: [
      ...usedConstants.map((c) => initializer(nameOf(c), c)),
      ...frozenInputs.map((t) => ({
        name: t.inputName!,
        dims: [...t.shape],
        dataType: onnxDtypeCode.float32,
        rawData: new Uint8Array(Float32Array.from(frozen.get(t.inputName!)!).buffer),
      })),
    ],
    input: graph.inputs
      .filter((t) => !frozen.has(t.inputName!))
      .map((t) => ({ name: t.inputName!, type: tensorTypeProto(t) })),
    output: outputs.map(({ name, tensor }) => ({ name, type: tensorTypeProto(tensor) })),
  };
}

/** Encode a graph proto as an ONNX model. */
export function encodeModel(graph: GraphProtoParts): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "anomalyscope",
    opsetImport: [{ domain: "", version: OPSET }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Encode the graph with the given named outputs as ONNX bytes. */
export function toOnnx(graph: Graph, outputs: ReadonlyArray<{ name: string; tensor: Tensor }>): Uint8Array {
  return encodeModel(buildGraphProto(graph, outputs));
}
