/**
 * Memory a traced graph needs, counted from its static shapes: the bytes of every value its outputs
 * depend on (what reverse mode keeps for the backward pass), the peak of values alive at once when the
 * nodes run in order and each value is freed after its last use (what an inference session needs), the
 * bytes of constants, and the largest im2col buffer of its convolutions (ONNX Runtime's CPU Conv
 * unfolds C_in/group · kH · kW × H_out · W_out floats per image and group). A training step also builds
 * the weight gradients' im2cols, in batch chunks of at most `WEIGHT_GRADIENT_IM2COL_BYTES`.
 */
import { MAX_IM2COL_ELEMENTS } from "./autodiff/rules.js";
import type { DType, Graph, Tensor } from "./ir.js";

/** Largest im2col a weight gradient builds at once (autodiff/rules.ts). */
export const WEIGHT_GRADIENT_IM2COL_BYTES = 4 * MAX_IM2COL_ELEMENTS;

import { liveNodes } from "./onnx.js";

export interface GraphMemory {
  /** Bytes of all values computed by the live nodes. */
  valueBytes: number;
  /** Largest total of values alive at once (graph inputs and constants excluded). */
  peakLiveBytes: number;
  /** Bytes of the graph's constants. */
  constantBytes: number;
  /** Bytes of the largest convolution im2col buffer. */
  im2colBytes: number;
}

const BYTES: Record<DType, number> = { float32: 4, int64: 8, bool: 1 };

const bytesOf = (t: Tensor) => t.size * BYTES[t.dtype];

export function graphMemory(graph: Graph, outputs: readonly Tensor[]): GraphMemory {
  const nodes = liveNodes(graph, outputs);
  const lastUse = new Map<Tensor, number>();
  nodes.forEach((node, i) => {
    for (const input of node.inputs) lastUse.set(input, i);
  });
  for (const output of outputs) lastUse.set(output, nodes.length);
  let valueBytes = 0;
  let live = 0;
  let peakLiveBytes = 0;
  let im2colBytes = 0;
  const freeAt = new Map<number, number>();
  nodes.forEach((node, i) => {
    for (const output of node.outputs) {
      const bytes = bytesOf(output);
      valueBytes += bytes;
      live += bytes;
      const last = lastUse.get(output) ?? i;
      freeAt.set(last, (freeAt.get(last) ?? 0) + bytes);
    }
    peakLiveBytes = Math.max(peakLiveBytes, live);
    live -= freeAt.get(i) ?? 0;
    if (node.op === "Conv") {
      const w = node.inputs[1].shape;
      const out = node.outputs[0].shape;
      im2colBytes = Math.max(im2colBytes, 4 * w[1] * w[2] * w[3] * out[2] * out[3]);
    } else if (node.op === "ConvTranspose") {
      const w = node.inputs[1].shape;
      const x = node.inputs[0].shape;
      im2colBytes = Math.max(im2colBytes, 4 * w[1] * w[2] * w[3] * x[2] * x[3]);
    }
  });
  const constantBytes = graph.constants.reduce((sum, c) => sum + bytesOf(c), 0);
  return { valueBytes, peakLiveBytes, constantBytes, im2colBytes };
}
