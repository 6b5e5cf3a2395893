/**
 * Batch-polymorphic ONNX export of a traced function (`CompiledFunction.exportOnnx`).
 *
 * The engine traces with static shapes, so a traced graph holds its batch size in a few int64 shape
 * constants (a Reshape's target, an Expand's shape, ...). The function is traced at several batch
 * sizes; the traces must agree node for node (op, attributes, wiring) and in every float constant.
 * Each int64 constant that differs is a linear function of the batch size, a + b·N, found from the
 * first two traces and checked on the others; in the exported graph it is computed from the batch size
 * of the input (`Shape`), and the batch axis of the input and outputs is the symbolic dimension "N".
 * Everything else — the frozen weights as initializers, the folds done for inference — is the graph the
 * function runs, so the exported model runs the whole batch at once as `predict` does.
 */
import onnxProto from "onnx-proto";
import { EngineError } from "./errors.js";
import type { Graph, Tensor } from "./ir.js";
import type { NDArray } from "./ndarray.js";
import { buildGraphProto, encodeModel } from "./onnx.js";
import { onnxDtypeCode } from "./ops/elementwise.js";

const { onnx } = onnxProto;

/** One trace of the function: its graph and named outputs at batch size `batch`. */
export interface BatchTrace {
  graph: Graph;
  outputs: Record<string, Tensor>;
  batch: number;
}

/** Batch dependence of an int64 constant: value = offset + scale · N, element-wise. */
interface LinearInBatch {
  offset: number[];
  scale: number[];
  shape: number[];
}

/**
 * ONNX bytes of `traces[0]` with a symbolic batch axis on graph input `batchedInput` (the input whose
 * first axis gives N) and on the outputs; `frozen` holds the weights embedded as initializers.
 */
export function exportBatchPolymorphic(
  traces: readonly BatchTrace[],
  batchedInput: string,
  frozen: ReadonlyMap<string, Float32Array>,
): Uint8Array {
  if (traces.length < 3) throw new Error("export: needs traces at three batch sizes");
  const [first] = traces;
  for (const other of traces.slice(1)) checkSameStructure(first.graph, other.graph);
  const outputNames = Object.keys(first.outputs);
  const proto = buildGraphProto(
    first.graph,
    outputNames.map((name) => ({ name, tensor: first.outputs[name] })),
    { frozen },
  );

  const constantsById = traces.map((t) => new Map(t.graph.constants.map((c) => [`const_${c.id}`, c])));
  const dependent = new Map<string, LinearInBatch>();
  for (const init of proto.initializer) {
    const values = constantsById.map((byId) => byId.get(init.name!)?.constValue);
    if (!values[0] || values.every((v) => sameValues(v!, values[0]!))) continue;
    dependent.set(init.name!, linearInBatch(values as NDArray[], traces, init.name!));
  }

  const A = onnx.AttributeProto.AttributeType;
  const int64s = (name: string, dims: number[], data: number[]) => ({
    name,
    dims,
    dataType: onnxDtypeCode.int64,
    rawData: new Uint8Array(BigInt64Array.from(data, (v) => BigInt(v)).buffer),
  });
  const computed: typeof proto.node = [];
  if (dependent.size > 0) {
    computed.push({
      name: "batch_size",
      opType: "Shape",
      input: [batchedInput],
      output: ["__batch"],
      attribute: [
        { name: "start", type: A.INT, i: 0 },
        { name: "end", type: A.INT, i: 1 },
      ],
    });
    if ([...dependent.values()].some((d) => d.shape.length === 0)) {
      proto.initializer.push(int64s("__scalar_shape", [0], []));
      computed.push({
        name: "batch_size_scalar",
        opType: "Reshape",
        input: ["__batch", "__scalar_shape"],
        output: ["__batch_scalar"],
        attribute: [],
      });
    }
  }
  proto.initializer = proto.initializer.filter((init) => !dependent.has(init.name!));
  for (const [name, { offset, scale, shape }] of dependent) {
    proto.initializer.push(int64s(`${name}__scale`, shape, scale), int64s(`${name}__offset`, shape, offset));
    const batch = shape.length === 0 ? "__batch_scalar" : "__batch";
    computed.push(
      {
        name: `${name}__scaled`,
        opType: "Mul",
        input: [batch, `${name}__scale`],
        output: [`${name}__scaled`],
        attribute: [],
      },
      {
        name: `${name}__computed`,
        opType: "Add",
        input: [`${name}__scaled`, `${name}__offset`],
        output: [name],
        attribute: [],
      },
    );
  }
  proto.node = [...computed, ...proto.node];

  const input = first.graph.inputs.find((t) => t.inputName === batchedInput);
  if (!input || input.shape[0] !== first.batch)
    throw new Error(`export: input "${batchedInput}" must exist with the traced batch size`);
  for (const info of proto.input) {
    const traced = first.graph.inputs.find((t) => t.inputName === info.name)!;
    const dims = info.type!.tensorType!.shape!.dim!;
    if (traced.shape[0] === first.batch && traces.every((t) => inputShape(t, info.name!)[0] === t.batch))
      dims[0] = { dimParam: "N" };
  }
  for (const info of proto.output) {
    const dims = info.type!.tensorType!.shape!.dim!;
    dims.forEach((_, axis) => {
      const sizes = traces.map((t) => t.outputs[info.name!].shape[axis]);
      if (sizes.every((d) => d === sizes[0])) return;
      if (!traces.every((t, k) => sizes[k] === t.batch))
        throw new EngineError(`export: axis ${axis} of output "${info.name}" depends on the batch size`);
      dims[axis] = { dimParam: "N" };
    });
  }
  return encodeModel(proto);
}

function inputShape(trace: BatchTrace, name: string): readonly number[] {
  return trace.graph.inputs.find((t) => t.inputName === name)!.shape;
}

function sameValues(a: NDArray, b: NDArray): boolean {
  if (a.dtype !== b.dtype || a.shape.join() !== b.shape.join()) return false;
  for (let i = 0; i < a.data.length; i++) if (!Object.is(a.data[i], b.data[i])) return false;
  return true;
}

/** The traces must be one graph apart from constant values and input shapes. */
function checkSameStructure(a: Graph, b: Graph): void {
  const fail = (detail: string): never => {
    throw new EngineError(`export: the traced graph changes with the batch size (${detail})`);
  };
  if (a.nodes.length !== b.nodes.length) fail(`${a.nodes.length} vs ${b.nodes.length} nodes`);
  if (a.constants.length !== b.constants.length) fail("a different number of constants");
  if (a.inputs.map((t) => t.inputName).join() !== b.inputs.map((t) => t.inputName).join())
    fail("different inputs");
  a.nodes.forEach((node, i) => {
    const other = b.nodes[i];
    if (
      node.op !== other.op ||
      JSON.stringify(node.attrs) !== JSON.stringify(other.attrs) ||
      node.inputs.map((t) => t.id).join() !== other.inputs.map((t) => t.id).join() ||
      node.outputs.map((t) => t.id).join() !== other.outputs.map((t) => t.id).join()
    )
      fail(`node ${node.name} vs ${other.name}`);
  });
}

/** Fit value = offset + scale · N on the first two traces; every trace must agree exactly. */
function linearInBatch(
  values: readonly NDArray[],
  traces: readonly BatchTrace[],
  name: string,
): LinearInBatch {
  const fail = (): never => {
    throw new EngineError(
      `export: constant ${name} (shape [${values[0].shape.join(", ")}]) depends on the batch size other than as a + b·N`,
    );
  };
  if (values.some((v) => v.dtype !== "int64" || v.shape.join() !== values[0].shape.join())) fail();
  const [n0, n1] = [traces[0].batch, traces[1].batch];
  const scale = Array.from(values[0].data, (v, i) => (values[1].data[i] - v) / (n1 - n0));
  const offset = Array.from(values[0].data, (v, i) => v - scale[i] * n0);
  if (![...scale, ...offset].every(Number.isInteger)) fail();
  values.forEach((v, k) => {
    v.data.forEach((x, i) => {
      if (x !== offset[i] + scale[i] * traces[k].batch) fail();
    });
  });
  return { offset, scale, shape: [...values[0].shape] };
}
