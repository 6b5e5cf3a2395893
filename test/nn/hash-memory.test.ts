/**
 * Hash-addressing memory (methods.md §5.2, §5.8): identical vectors have Hamming distance 0; the
 * candidates are the brute-force (Hamming ascending, cosine descending, index ascending) choice computed
 * from the current memory; the read is a convex combination of exactly k distinct rows; gradients reach
 * the selected rows (and the query) and no other row; the tie-break is deterministic with many ties
 * (few bits, duplicated rows); the learned hash gets a gradient; ONNX Runtime selects the same rows.
 */
import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/index.js";
import { HashMemory, hammingDistances, hashCodes } from "../../src/nn/index.js";
import { Random } from "../../src/util/random.js";
import { expectClose, randomValues, runReference, stateFeeds, traceModel } from "./helpers.js";

const C = 6;
const N = 20;
const K = 8;
const k = 4;
const Q = 5;

function memoryOf(hash: "random" | "learned" = "random", bits = K, seed = 2) {
  return new HashMemory(new Random(seed), {
    slots: N,
    channels: C,
    bits,
    candidates: k,
    temperature: 0.1,
    hash,
  });
}

function codesOf(
  v: ArrayLike<number>,
  rows: number,
  projection: ArrayLike<number>,
  bits: number,
): number[][] {
  return Array.from({ length: rows }, (_, r) =>
    Array.from({ length: bits }, (_, b) => {
      let s = 0;
      for (let c = 0; c < C; c++) s += v[r * C + c] * projection[c * bits + b];
      return Math.sign(s);
    }),
  );
}

function cosine(a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let c = 0; c < C; c++) {
    dot += a[ai * C + c] * b[bi * C + c];
    na += a[ai * C + c] ** 2;
    nb += b[bi * C + c] ** 2;
  }
  return dot / (Math.sqrt(na) * Math.sqrt(nb) + 1e-12);
}

/** Brute-force candidates: Hamming ascending, then cosine descending, then index ascending. */
function bruteForce(memory: HashMemory, z: ArrayLike<number>, bits: number): number[][] {
  const m = memory.weight.value;
  const qc = codesOf(z, Q, memory.projection.value, bits);
  const mc = codesOf(m, N, memory.projection.value, bits);
  return qc.map((code, q) => {
    const items = mc.map((row, i) => ({
      i,
      h: row.reduce((a, bit, b) => a + (bit !== code[b] ? 1 : 0), 0),
      cos: cosine(z, q, m, i),
    }));
    items.sort((a, b) => a.h - b.h || b.cos - a.cos || a.i - b.i);
    return items.slice(0, k).map((item) => item.i);
  });
}

function read(memory: HashMemory, z: Float32Array, withGrad = false) {
  const seed = new Random(9);
  const r = Float32Array.from({ length: Q * C }, () => seed.normal());
  const traced = traceModel(memory, { z: [Q, C] }, ({ z }) => {
    const result = memory.forward(z);
    const outputs: Record<string, T.Tensor> = {
      output: result.output,
      indices: result.indices,
      weights: result.weights,
      hamming: result.hamming,
    };
    if (withGrad) {
      const binding = T.bind(memory);
      const loss = T.sum(T.mul(result.output, T.constant(r, [Q, C])));
      const [dm, dz, dp] = T.grad(loss, [
        binding.tensors.get(memory.weight)!,
        z,
        binding.tensors.get(memory.projection)!,
      ]);
      Object.assign(outputs, { dm, dz, dp });
    }
    return outputs;
  });
  return { traced, values: runReference(traced, memory, { z }) };
}

describe("hash-addressing memory", () => {
  it("identical vectors have Hamming distance 0; a stored copy of the query is read first", () => {
    const v = randomValues(1, 3 * C);
    const traced = traceModel(undefined, { a: [3, C], p: [C, K] }, ({ a, p }) => {
      const codes = hashCodes(a, p);
      return { h: hammingDistances(codes, codes), codes };
    });
    const out = runReference(traced, undefined, { a: v, p: randomValues(2, C * K) });
    for (let i = 0; i < 3; i++) expect(out.h[i * 3 + i]).toBe(0);
    expect(out.h.some((h) => h > 0)).toBe(true);
    expect(out.codes.every((b) => b === 1 || b === -1)).toBe(true);

    const memory = memoryOf();
    const z = randomValues(3, Q * C);
    memory.weight.value.set(z.subarray(0, C), 7 * C);
    const { values } = read(memory, z);
    expect(values.hamming[7]).toBe(0);
    expect(values.indices[0]).toBe(7);
  });

  it("selects the brute-force candidates from the current memory and reads a convex combination of exactly k rows", () => {
    const memory = memoryOf();
    const z = randomValues(4, Q * C);
    const { traced, values } = read(memory, z);
    expect(traced.outputs.indices.shape).toEqual([Q, k]);
    expect(bruteForce(memory, z, K)).toEqual(
      Array.from({ length: Q }, (_, q) => values.indices.slice(q * k, (q + 1) * k)),
    );
    const m = memory.weight.value;
    for (let q = 0; q < Q; q++) {
      const idx = values.indices.slice(q * k, (q + 1) * k);
      const w = values.weights.slice(q * k, (q + 1) * k);
      expect(new Set(idx).size).toBe(k);
      expect(w.every((x) => x > 0)).toBe(true);
      expect(Math.abs(w.reduce((a, x) => a + x, 0) - 1)).toBeLessThan(1e-12);
      const cos = idx.map((i) => cosine(z, q, m, i) / 0.1);
      const top = Math.max(...cos);
      const e = cos.map((c) => Math.exp(c - top));
      expectClose(
        w,
        e.map((x) => x / e.reduce((a, y) => a + y, 0)),
        1e-9,
      );
      const expected = Array.from({ length: C }, (_, c) =>
        idx.reduce((a, i, j) => a + w[j] * m[i * C + c], 0),
      );
      expectClose(values.output.slice(q * C, (q + 1) * C), expected, 1e-9);
    }
    // Codes are recomputed from the memory at every forward: moving a row moves its distances.
    const before = values.hamming.slice();
    for (let c = 0; c < C; c++) m[3 * C + c] = -m[3 * C + c];
    const after = read(memory, z).values.hamming;
    for (let q = 0; q < Q; q++) expect(after[q * N + 3]).toBe(K - before[q * N + 3]);
  });

  it("gradients reach the selected rows and the query, and no other row", () => {
    const memory = memoryOf();
    const z = randomValues(5, Q * C);
    const { values } = read(memory, z, true);
    const selected = new Set(values.indices);
    expect(selected.size).toBeLessThan(N);
    for (let i = 0; i < N; i++) {
      const row = values.dm.slice(i * C, (i + 1) * C);
      if (selected.has(i)) expect(row.some((g) => g !== 0)).toBe(true);
      else expect(row.every((g) => g === 0)).toBe(true);
    }
    expect(values.dz.some((g) => g !== 0)).toBe(true);
    // The random projection is a buffer: it gets no gradient.
    expect(values.dp.every((g) => g === 0)).toBe(true);
  });

  it("breaks Hamming ties by the larger cosine, then by the lower index, identically on every run", async () => {
    const bits = 2;
    const memory = memoryOf("random", bits, 6);
    const m = memory.weight.value;
    // Rows 10–12 duplicate row 4 (equal Hamming distance and cosine): only the index can order them.
    for (const i of [10, 11, 12]) m.set(m.subarray(4 * C, 5 * C), i * C);
    const z = randomValues(7, Q * C);
    z.set(m.subarray(4 * C, 5 * C), 0);
    const first = read(memory, z);
    expect(first.values.indices.slice(0, k)).toEqual([4, 10, 11, 12]);
    expect(bruteForce(memory, z, bits)).toEqual(
      Array.from({ length: Q }, (_, q) => first.values.indices.slice(q * k, (q + 1) * k)),
    );
    // With 2 bits there are at most 3 distances for 20 rows: most selections are decided by the tie-break.
    expect(new Set(first.values.hamming).size).toBeLessThanOrEqual(3);
    expect(read(memory, z).values.indices).toEqual(first.values.indices);
    const compiled = await T.CompiledGraph.create(
      first.traced.graph,
      { indices: first.traced.outputs.indices, output: first.traced.outputs.output },
      { threads: 1 },
    );
    const got = await compiled.run({ ...stateFeeds(memory), z });
    await compiled.release();
    expect(Array.from(got.indices as BigInt64Array, Number)).toEqual(first.values.indices);
    expectClose(got.output as Float32Array, first.values.output, 1e-4);
  });

  it("the learned hash is trained through a straight-through tanh", () => {
    const memory = memoryOf("learned");
    expect(memory.namedParameters().map(([n]) => n)).toContain("projection");
    const z = randomValues(8, Q * C);
    const { values } = read(memory, z, true);
    expect(values.dp.some((g) => g !== 0)).toBe(true);
    const w = values.weights;
    for (let q = 0; q < Q; q++)
      expect(Math.abs(w.slice(q * k, (q + 1) * k).reduce((a, x) => a + x, 0) - 1)).toBeLessThan(1e-12);
  });
});
