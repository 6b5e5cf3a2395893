/**
 * `CompiledFunction.exportOnnx` exports the graph the function runs (issue 23): for the AE network
 * (batch norms after convolutions and transposed convolutions), the exported model has the nodes and
 * the initializers of the graph compiled for a batch of 4 — the same ops in the same order, the batch
 * norms after the transposed convolutions folded into them — except that each batch-dependent shape
 * constant is computed from the input's batch size, and the input and output have the batch axis "N".
 * A function whose trace changes with the batch beyond shape constants is refused.
 */
import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/api.js";
import { compileFunction } from "../../src/engine/step.js";
import { ConvAutoencoder } from "../../src/methods/ae/network.js";
import { Random } from "../../src/util/random.js";

const decode = (bytes: Uint8Array) => onnxProto.onnx.ModelProto.decode(bytes).graph!;

describe("exportOnnx", () => {
  it("writes the compiled graph's nodes and initializers with the batch-dependent shapes computed", async () => {
    const model = new ConvAutoencoder(new Random(3)).eval();
    for (const [, p] of model.namedBuffers()) p.value = p.value.map((v, i) => v + 0.1 * (i % 3));
    const fn = await compileFunction({
      modules: [model],
      inputs: { images: { shape: [4, 1, 32, 32] } },
      build: ({ images }) => {
        const y = model.forward(images);
        return { y, error: T.mean(T.reshape(T.square(T.sub(y, images)), [images.shape[0], 1024]), 1) };
      },
    });
    const compiled = decode((await fn.prepare(4)).compiled.modelBytes);
    const exported = decode(
      fn.exportOnnx({ inputs: { images: "input" }, outputs: { y: "y", error: "error" } }),
    );

    const added = (name: string) => name.startsWith("batch_size") || /__(scaled|computed)$/.test(name);
    const computedNodes = exported.node!.filter((n) => added(n.name!));
    expect(computedNodes.length).toBeGreaterThan(0);
    expect(exported.node!.filter((n) => !added(n.name!)).map((n) => n.opType)).toEqual(
      compiled.node!.map((n) => n.opType),
    );
    const ops = compiled.node!.map((n) => n.opType);
    expect(ops).toContain("ConvTranspose");
    // Folded: no transposed convolution is followed by the batch norm's Mul.
    const products = new Set(
      compiled.node!.filter((n) => n.opType === "ConvTranspose").map((n) => n.output![0]),
    );
    expect(compiled.node!.some((n) => n.opType === "Mul" && n.input!.some((i) => products.has(i)))).toBe(
      false,
    );

    const computedNames = new Set(computedNodes.filter((n) => n.opType === "Add").map((n) => n.output![0]));
    const initializers = (g: typeof compiled) =>
      new Map(g.initializer!.map((t) => [t.name!, Buffer.from(t.rawData!).toString("hex")]));
    const before = initializers(compiled);
    const after = initializers(exported);
    for (const [name, data] of before) {
      if (computedNames.has(name)) expect(after.has(name)).toBe(false);
      else expect(after.get(name), name).toBe(data);
    }
    const dims = (v: onnxProto.onnx.IValueInfoProto) =>
      v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
    expect(exported.input!.map(dims)).toEqual([["N", 1, 32, 32]]);
    expect(exported.output!.map(dims)).toEqual([["N", 1, 32, 32], ["N"]]);
    await fn.release();
  });

  it("refuses a function whose graph changes with the batch beyond shape constants", async () => {
    const model = new ConvAutoencoder(new Random(4)).eval();
    const fn = await compileFunction({
      modules: [model],
      inputs: { images: { shape: [2, 1, 32, 32] } },
      // Mixes the items of a batch: the image's weight depends on the batch size.
      build: ({ images }) => ({ y: T.mul(model.forward(images), 1 / images.shape[0]) }),
    });
    expect(() => fn.exportOnnx()).toThrow(/depends on the batch size|changes with the batch size/);
    await fn.release();
  });
});
