/**
 * Typed engine errors: a wrong shape raises a ShapeError while tracing that names the op, the input
 * shapes and the layer scope; a graph ONNX Runtime rejects (at compile or at run time) raises an
 * EngineError naming the node and op; missing and wrongly-sized feeds raise EngineErrors naming the input.
 */
import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/api.js";
import { EngineError, ShapeError } from "../../src/engine/errors.js";
import { type Tensor, trace, withScope } from "../../src/engine/ir.js";
import { CompiledGraph } from "../../src/engine/runtime.js";
import { UserError } from "../../src/errors.js";

/** The error thrown while tracing `fn`. */
function traceError(fn: () => unknown): Error {
  try {
    trace(fn);
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected tracing to fail");
}

describe("shape errors while tracing", () => {
  it("names the op, the shapes and the layer scope", () => {
    const error = traceError(() => {
      const x = T.input("x", [1, 3, 8, 8]);
      const w = T.input("w", [4, 2, 3, 3]);
      withScope("encoder.e1", () => T.conv2d(x, w, undefined, { padding: 1 }));
    });
    expect(error).toBeInstanceOf(ShapeError);
    expect(error).toBeInstanceOf(UserError);
    const shapeError = error as ShapeError;
    expect(shapeError.op).toBe("Conv");
    expect(shapeError.scope).toBe("encoder.e1");
    expect(shapeError.shapes).toEqual([
      [1, 3, 8, 8],
      [4, 2, 3, 3],
    ]);
    expect(error.message).toBe(
      "Conv in encoder.e1: input has 3 channels, weight expects 2×1 groups (input shapes [1, 3, 8, 8], [4, 2, 3, 3])",
    );
  });

  it("nested scopes are joined; the scope ends with its function", () => {
    const error = traceError(() => {
      const a = T.input("a", [2, 3]);
      const b = T.input("b", [4, 5]);
      withScope("decoder", () => withScope("attn", () => T.matMul(a, b)));
    });
    expect(error.message).toMatch(/^MatMul in decoder\/attn: .*\(input shapes \[2, 3\], \[4, 5\]\)$/);
    const outside = traceError(() => {
      const a = T.input("a", [2, 3]);
      withScope("decoder", () => T.relu(a));
      T.add(a, T.input("c", [4]));
    });
    expect(outside.message).toBe("Add: shapes do not broadcast (input shapes [2, 3], [4])");
  });

  const cases: Array<[string, () => Tensor | Tensor[], RegExp]> = [
    ["reshape to a wrong size", () => T.reshape(T.input("x", [2, 3]), [4, 2]), /^Reshape: cannot reshape 6/],
    [
      "concat along a mismatched axis",
      () => T.concat([T.input("a", [2, 3]), T.input("b", [3, 3])], 1),
      /^Concat: inputs differ outside axis 1/,
    ],
    [
      "convTranspose with a wrong bias",
      () => T.convTranspose2d(T.input("x", [1, 2, 4, 4]), T.input("w", [2, 3, 3, 3]), T.input("b", [2])),
      /^ConvTranspose: bias must have shape \[3\]/,
    ],
    [
      "convTranspose with output_padding not below the stride (ORT rejects it)",
      () =>
        T.convTranspose2d(T.input("x", [1, 2, 4, 4]), T.input("w", [2, 3, 3, 3]), undefined, {
          stride: 1,
          dilation: 2,
          outputPadding: 1,
        }),
      /^ConvTranspose: output_padding \[1,1\] must be smaller than the stride \[1,1\]/,
    ],
    [
      "maxPool2d with padding as large as the kernel (ORT rejects it)",
      () => T.maxPool2d(T.input("x", [1, 1, 5, 5]), { kernel: [3, 1], padding: 1 }),
      /^MaxPool: pads \[1, 1, 1, 1\] must be smaller than the kernel \[3, 1\]/,
    ],
    [
      "avgPool2d with padding as large as the kernel (a window would hold no pixel)",
      () => T.avgPool2d(T.input("x", [1, 1, 5, 5]), { kernel: 2, padding: [0, 2, 0, 0] }),
      /^AvgPool: pads \[0, 2, 0, 0\] must be smaller than the kernel \[2, 2\] \(input shapes \[1, 1, 5, 5\]\)/,
    ],
    [
      "scatterElements indices larger than the data off the axis",
      () =>
        T.scatterElements(
          T.input("x", [1, 3]),
          T.constant([0, 1, 2, 0], [2, 2], "int64"),
          T.input("u", [2, 2]),
          1,
        ),
      /^ScatterElements: indices shape \[2,2\] exceeds the data shape/,
    ],
    [
      "reflect padding as large as the axis",
      () => T.pad(T.input("x", [1, 1, 3, 4]), [0, 0, 3, 0, 0, 0, 0, 0], "reflect"),
      /^Pad: reflect padding \(3, 0\) must be smaller than axis 2 of size 3 \(input shapes \[1, 1, 3, 4\]\)/,
    ],
    [
      "softmax on a missing axis",
      () => T.softmax(T.input("x", [2, 3]), 2),
      /^Softmax: axis 2 is out of range/,
    ],
    ["topK larger than the axis", () => T.topK(T.input("x", [2, 3]), 4).values, /^TopK: K=4 is out of range/],
    [
      "gather with float indices",
      () => T.gather(T.input("x", [2, 3]), T.input("i", [2]), 0),
      /^Gather: indices must be int64/,
    ],
  ];
  for (const [name, build, pattern] of cases) {
    it(name, () => {
      const error = traceError(() => withScope("layer", build));
      expect(error).toBeInstanceOf(ShapeError);
      expect(error.message.replace(" in layer", "")).toMatch(pattern);
      expect(error.message).toContain(" in layer:");
    });
  }
});

/** The error a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

describe("ONNX Runtime errors", () => {
  it("a graph ORT rejects at compile time names the node and the op", async () => {
    const { graph, result } = trace(() => {
      const x = T.input("x", [2, 3]);
      return withScope("decoder.d2", () => T.emit("LeakyRelu", [x], { alpha: 0.1, bogus: 3 })[0]);
    });
    const error = await rejection(CompiledGraph.create(graph, { y: result }));
    expect(error).toBeInstanceOf(EngineError);
    expect(error.message).toMatch(/^ONNX Runtime rejected the graph: /);
    expect(error.message).toContain("decoder.d2/LeakyRelu_");
    expect(error.message).toContain("Unrecognized attribute: bogus for operator LeakyRelu");
  });

  it("a node that fails at run time is named", async () => {
    const { graph, result } = trace(() => {
      const x = T.input("x", [1, 1, 4, 4]);
      const w = T.input("w", [1, 1, 3, 3]);
      return withScope("encoder.e2", () => T.emit("Conv", [x, w], { kernel_shape: [2, 2] })[0]);
    });
    const compiled = await CompiledGraph.create(graph, { y: result }, { threads: 1 });
    const error = await rejection(compiled.run({ x: new Float32Array(16), w: new Float32Array(9) }));
    await compiled.release();
    expect(error).toBeInstanceOf(EngineError);
    expect(error.message).toMatch(
      /^ONNX Runtime failed to run the graph: .*Conv node\. Name:'encoder\.e2\/Conv_\d+'/,
    );
  });

  it("missing and wrongly-sized feeds name the input", async () => {
    const { graph, result } = trace(() => T.add(T.input("image", [2, 3]), T.input("bias", [3])));
    const compiled = await CompiledGraph.create(graph, { y: result }, { threads: 1 });
    try {
      const missing = await rejection(compiled.run({ image: new Float32Array(6) }));
      expect(missing).toBeInstanceOf(EngineError);
      expect(missing.message).toBe('missing input "bias"');
      const wrong = await rejection(compiled.run({ image: new Float32Array(5), bias: new Float32Array(3) }));
      expect(wrong).toBeInstanceOf(EngineError);
      expect(wrong.message).toBe('input "image" has 5 values, expected 6 for shape [2, 3]');
      const ok = await compiled.run({
        image: Float32Array.from([1, 2, 3, 4, 5, 6]),
        bias: Float32Array.from([1, 1, 1]),
      });
      expect(Array.from(ok.y as Float32Array)).toEqual([2, 3, 4, 5, 6, 7]);
    } finally {
      await compiled.release();
    }
  });
});
