/**
 * Self-contained ONNX export with a dynamic batch: the graph is traced for one image and wrapped in
 * an ONNX `Scan` over the batch axis, so every shape inside stays static (as the engine requires)
 * while the exported model accepts N×C×H×W for any N. Weights are frozen into initializers.
 */
import onnxProto from "onnx-proto";
import type { Graph, Tensor } from "./ir.js";
import { buildGraphProto, encodeModel, type GraphProtoParts } from "./onnx.js";
import { onnxDtypeCode } from "./ops/elementwise.js";

const { onnx } = onnxProto;

/**
 * `graph` must have exactly one non-frozen input, `inputName`, of shape [1, ...item]; every output
 * must have a leading axis of 1. The exported outputs have a leading axis N (dim_param "N").
 */
export function exportBatchedOnnx(
  graph: Graph,
  outputs: Record<string, Tensor>,
  inputName: string,
  frozen: ReadonlyMap<string, Float32Array>,
): Uint8Array {
  const input = graph.inputs.find((t) => t.inputName === inputName);
  if (input?.shape[0] !== 1) throw new Error(`export: input "${inputName}" must exist with a batch of 1`);
  const free = graph.inputs.filter((t) => !frozen.has(t.inputName!) && t !== input);
  if (free.length)
    throw new Error(`export: inputs without values: ${free.map((t) => t.inputName).join(", ")}`);
  for (const [name, t] of Object.entries(outputs)) {
    if (t.shape[0] !== 1) throw new Error(`export: output "${name}" must have a leading axis of 1`);
  }
  const itemShape = input.shape.slice(1);
  const body = buildGraphProto(
    graph,
    Object.entries(outputs).map(([name, tensor]) => ({ name: `${name}__one`, tensor })),
    { name: "per_image", frozen },
  );
  const A = onnx.AttributeProto.AttributeType;
  const shapeConst = (name: string, dims: number[]) => ({
    name,
    dims: [dims.length],
    dataType: onnxDtypeCode.int64,
    rawData: new Uint8Array(BigInt64Array.from(dims, (d) => BigInt(d)).buffer),
  });
  // Body: item [C,H,W] -> [1,C,H,W] -> network -> each output [1,...] -> [...]. Inside the body the
  // network's input is renamed, because a subgraph may not redefine a name of the outer graph.
  const inner = `${inputName}__one`;
  for (const node of body.node)
    node.input = (node.input ?? []).map((name) => (name === inputName ? inner : name));
  body.node.unshift({
    name: "unsqueeze_item",
    opType: "Reshape",
    input: [`${inputName}__item`, "__input_shape"],
    output: [inner],
    attribute: [],
  });
  body.initializer.push(shapeConst("__input_shape", [...input.shape]));
  body.input = body.input
    .filter((i) => i.name !== inputName)
    .concat([{ name: `${inputName}__item`, type: tensorType(input.dtype, itemShape) }]);
  body.output = [];
  for (const [name, tensor] of Object.entries(outputs)) {
    const itemDims = tensor.shape.slice(1);
    body.initializer.push(shapeConst(`__shape_${name}`, itemDims));
    body.node.push({
      name: `squeeze_${name}`,
      opType: "Reshape",
      input: [`${name}__one`, `__shape_${name}`],
      output: [`${name}__item`],
      attribute: [],
    });
    body.output.push({ name: `${name}__item`, type: tensorType(tensor.dtype, itemDims) });
  }
  const names = Object.keys(outputs);
  const main: GraphProtoParts = {
    name: "anomalyscope",
    node: [
      {
        name: "per_image_scan",
        opType: "Scan",
        input: [inputName],
        output: names,
        attribute: [
          { name: "body", type: A.GRAPH, g: body },
          { name: "num_scan_inputs", type: A.INT, i: 1 },
        ],
      },
    ],
    initializer: [],
    input: [{ name: inputName, type: tensorType(input.dtype, itemShape, true) }],
    output: names.map((name) => ({
      name,
      type: tensorType(outputs[name].dtype, outputs[name].shape.slice(1), true),
    })),
  };
  return encodeModel(main);
}

function tensorType(dtype: Tensor["dtype"], dims: readonly number[], batched = false) {
  const shape = dims.map((d) => ({ dimValue: d }));
  return {
    tensorType: {
      elemType: onnxDtypeCode[dtype],
      shape: { dim: batched ? [{ dimParam: "N" }, ...shape] : shape },
    },
  };
}
