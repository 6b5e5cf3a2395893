/**
 * Arithmetic cost of a graph: 2 × the multiply-adds of its convolutions and matrix products over the
 * nodes its outputs need (element-wise work is not counted), the convention of benchmark GFLOP
 * figures. Benchmarks divide it by a measured step time to report GFLOP/s.
 */
import type { Graph, Tensor } from "./ir.js";
import { liveNodes } from "./onnx.js";

export function graphFlops(graph: Graph, outputs: readonly Tensor[]): number {
  let multiplyAdds = 0;
  for (const node of liveNodes(graph, outputs)) {
    const [x, w] = node.inputs;
    const out = node.outputs[0];
    if (node.op === "Conv") multiplyAdds += out.size * w.shape[1] * w.shape[2] * w.shape[3];
    else if (node.op === "ConvTranspose") multiplyAdds += x.size * w.shape[1] * w.shape[2] * w.shape[3];
    else if (node.op === "MatMul") multiplyAdds += out.size * x.shape[x.rank - 1];
  }
  return 2 * multiplyAdds;
}
