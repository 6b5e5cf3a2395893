/**
 * Block-wise memory (methods.md §6.2, §6.9) on the float64 reference executor: divide∘assemble is the
 * identity and divide cuts channel-major b×b blocks; a block equal to a memory row is reconstructed
 * exactly when shrinkage keeps only that row; block side 1 is MemAE's position-wise read; gradients of
 * the module's output reach the memory rows (and equal finite differences); a map side not divisible
 * by b fails at construction, naming the scale, the map size and b.
 */
import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/index.js";
import {
  assembleBlocks,
  attentionEntropy,
  BlockMemoryModule,
  divideBlocks,
  Memory,
  memoryRead,
} from "../../src/nn/index.js";
import { Random } from "../../src/util/random.js";
import { expectClose, randomValues, runReference, traceModel } from "./helpers.js";

const N = 2;
const C = 3;
const S = 8;

describe("divide and assemble", () => {
  const x = randomValues(1, N * C * S * S);
  for (const block of [1, 2, 4, 8]) {
    it(`b = ${block}: assemble(divide(x)) = x, and each row is one channel-major b×b block`, () => {
      const traced = traceModel(undefined, { x: [N, C, S, S] }, ({ x }) => {
        const rows = divideBlocks(x, block);
        return { rows, back: assembleBlocks(rows, x.shape, block) };
      });
      const r = runReference(traced, undefined, { x });
      expect(r.back).toEqual(Array.from(x));
      const grid = S / block;
      expect(traced.outputs.rows.shape).toEqual([N * grid * grid, C * block * block]);
      const expected: number[] = [];
      for (let n = 0; n < N; n++)
        for (let by = 0; by < grid; by++)
          for (let bx = 0; bx < grid; bx++)
            for (let c = 0; c < C; c++)
              for (let i = 0; i < block; i++)
                for (let j = 0; j < block; j++)
                  expected.push(x[((n * C + c) * S + by * block + i) * S + bx * block + j]);
      expect(r.rows).toEqual(expected);
    });
  }
});

describe("block read", () => {
  it("a block equal to a memory row is reconstructed exactly when shrinkage keeps only that row", () => {
    const block = 2;
    const width = C * block * block;
    const slots = 4;
    // Orthogonal rows (disjoint supports): cosine 1 with its own row, 0 with the others, so the softmax
    // weight of the matching row is e/(e + 3) ≈ 0.475 and of each other row 1/(e + 3) ≈ 0.175 < λ.
    const rows = new Float32Array(slots * width);
    for (let k = 0; k < slots; k++) for (let j = 0; j < 3; j++) rows[k * width + 3 * k + j] = 0.5 + 0.25 * j;
    const memory = new Memory(new Random(2), {
      slots,
      channels: width,
      shrink: { threshold: 0.3 },
      addressing: "cosine",
    });
    memory.weight.value = rows;
    // A 1×C×4×4 map whose 2×2 blocks equal rows 2, 0, 3, 1 (row-major block order).
    const order = [2, 0, 3, 1];
    const traced = traceModel(memory, { rows: [order.length, width] }, ({ rows }) => {
      const map = assembleBlocks(rows, [1, C, 4, 4], block);
      const read = memory.readBlocks(map, block);
      return { map, output: read.output, weights: read.weights };
    });
    const blocks = order.flatMap((k) => Array.from(rows.subarray(k * width, (k + 1) * width)));
    const r = runReference(traced, memory, { rows: blocks });
    expectClose(r.output, r.map, 1e-9);
    for (const [t, k] of order.entries()) {
      const oneHot = Array.from({ length: slots }, (_, i) => (i === k ? 1 : 0));
      expectClose(r.weights.slice(t * slots, (t + 1) * slots), oneHot, 1e-9);
    }
  });

  it("block side 1 equals the position-wise MemAE read (queries at every position, NHWC order)", () => {
    const memory = new Memory(new Random(3), {
      slots: 7,
      channels: C,
      shrink: { threshold: 0.1 },
      addressing: "dot",
    });
    const traced = traceModel(memory, { x: [N, C, S, S] }, ({ x }) => {
      const blockRead = memory.readBlocks(x, 1);
      const queries = T.reshape(T.transpose(x, [0, 2, 3, 1]), [N * S * S, C]);
      const direct = memoryRead(queries, T.bind(memory).tensors.get(memory.weight)!, {
        shrinkThreshold: 0.1,
        addressing: "dot",
      });
      return {
        blockOutput: blockRead.output,
        blockWeights: blockRead.weights,
        directOutput: T.transpose(T.reshape(direct.output, [N, S, S, C]), [0, 3, 1, 2]),
        directWeights: direct.weights,
      };
    });
    const r = runReference(traced, memory, { x: randomValues(4, N * C * S * S).map((v) => 4 * v) });
    expect(r.blockOutput).toEqual(r.directOutput);
    expect(r.blockWeights).toEqual(r.directWeights);
    expect(r.blockWeights.some((w) => w > 0)).toBe(true);
  });
});

describe("block-wise memory module BM(C, b, N, C_m)", () => {
  const options = {
    channels: 6,
    reducedChannels: 2,
    block: 2,
    slots: 5,
    mapSize: 4,
    scale: "scale 4",
    shrinkThreshold: 0.05,
    addressing: "cosine" as const,
  };

  it("gradients of the output and the entropy reach the memory rows and equal finite differences", () => {
    const module = new BlockMemoryModule(new Random(5), options);
    module.train();
    const memory = module.memory.weight;
    expect(memory.shape).toEqual([5, 2 * 2 * 2]);
    const x = randomValues(6, 2 * 6 * 4 * 4);
    const target = randomValues(7, 2 * 6 * 4 * 4);
    const traced = traceModel(module, { x: [2, 6, 4, 4], target: [2, 6, 4, 4] }, ({ x, target }) => {
      const read = module.forward(x);
      const loss = T.add(T.mean(T.square(T.sub(read.output, target))), attentionEntropy(read.weights));
      const [gradient] = T.grad(loss, [T.bind(module).tensors.get(memory)!]);
      return { loss, gradient, weights: read.weights };
    });
    const run = () => runReference(traced, module, { x, target });
    const base = run();
    expect(base.weights.some((w) => w > 0)).toBe(true);
    expect(base.gradient.filter((g) => g !== 0).length).toBeGreaterThan(memory.size / 2);
    const original = memory.value;
    for (const index of [0, 9, 22, 39]) {
      const h = 1e-3;
      const shifted = (delta: number) => {
        const value = Float32Array.from(original);
        value[index] += delta;
        memory.value = value;
        return run().loss[0];
      };
      const numeric = (shifted(h) - shifted(-h)) / (2 * h);
      expect(Math.abs(numeric - base.gradient[index])).toBeLessThan(1e-3 * Math.max(1, Math.abs(numeric)));
    }
    memory.value = original;
  });

  it("a map side not divisible by b fails at construction, naming the scale, the map size and b", () => {
    expect(() => new BlockMemoryModule(new Random(8), { ...options, mapSize: 6, block: 4 })).toThrow(
      "block-wise memory at scale 4: the 6×6 map is not divisible into blocks of side 4",
    );
  });
});
