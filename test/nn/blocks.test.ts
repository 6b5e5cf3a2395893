import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/index.js";
import { Memory, MultiHeadAttention, memoryRead, SqueezeExcitation, topKRead } from "../../src/nn/index.js";
import { Random } from "../../src/util/random.js";
import { expectClose, randomValues, runReference, stateFeeds, traceModel } from "./helpers.js";

function softmaxRows(logits: number[], columns: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < logits.length / columns; r++) {
    const row = logits.slice(r * columns, (r + 1) * columns);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const total = e.reduce((a, v) => a + v, 0);
    out.push(...e.map((v) => v / total));
  }
  return out;
}

function matMulRows(a: ArrayLike<number>, b: ArrayLike<number>, rows: number, inner: number, cols: number) {
  const out: number[] = [];
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      let acc = 0;
      for (let k = 0; k < inner; k++) acc += a[r * inner + k] * b[k * cols + c];
      out.push(acc);
    }
  return out;
}

function transposeRows(m: ArrayLike<number>, rows: number, cols: number): number[] {
  return Array.from({ length: rows * cols }, (_, i) => m[(i % rows) * cols + Math.floor(i / rows)]);
}

describe("memory read with hard shrinkage (§1.2, §3.8)", () => {
  const queries = 5;
  const slots = 6;
  const channels = 4;
  const z = randomValues(30, queries * channels).map((v) => 3 * v);
  const memory = randomValues(31, slots * channels);

  function read(lambda: number, addressing: "dot" | "cosine") {
    const traced = traceModel(undefined, { z: [queries, channels], m: [slots, channels] }, ({ z, m }) => {
      const r = memoryRead(z, m, { shrinkThreshold: lambda, addressing });
      return { output: r.output, weights: r.weights };
    });
    return runReference(traced, undefined, { z, m: memory });
  }

  it("dot addressing without shrinkage is softmax(z·Mᵀ)·M", () => {
    const r = read(0, "dot");
    const weights = softmaxRows(
      matMulRows(z, transposeRows(memory, slots, channels), queries, channels, slots),
      slots,
    );
    expectClose(r.weights, weights, 1e-9);
    expectClose(r.output, matMulRows(weights, memory, queries, slots, channels), 1e-9);
  });

  it("cosine addressing uses normalised similarities", () => {
    const r = read(0, "cosine");
    const norm = (v: ArrayLike<number>, i: number) =>
      Math.hypot(...Array.from({ length: channels }, (_, k) => v[i * channels + k]));
    const logits: number[] = [];
    for (let t = 0; t < queries; t++)
      for (let i = 0; i < slots; i++) {
        let dot = 0;
        for (let k = 0; k < channels; k++) dot += z[t * channels + k] * memory[i * channels + k];
        logits.push(dot / (norm(z, t) * norm(memory, i) + 1e-12));
      }
    expectClose(r.weights, softmaxRows(logits, slots), 1e-9);
  });

  for (const lambda of [0.1, 0.2]) {
    it(`with λ = ${lambda}: rows sum to 1 (or are all zero), entries below λ are exactly 0, output in the convex hull`, () => {
      const soft = read(0, "cosine").weights;
      const r = read(lambda, "cosine");
      let zeroed = 0;
      for (let t = 0; t < queries; t++) {
        const row = r.weights.slice(t * slots, (t + 1) * slots);
        for (let i = 0; i < slots; i++) {
          expect(row[i]).toBeGreaterThanOrEqual(0);
          if (soft[t * slots + i] <= lambda) {
            expect(row[i]).toBe(0);
            zeroed++;
          }
        }
        const total = row.reduce((a, v) => a + v, 0);
        if (total === 0) expect(r.output.slice(t * channels, (t + 1) * channels)).toEqual([0, 0, 0, 0]);
        else expect(total).toBeCloseTo(1, 9);
        const hull = matMulRows(row, memory, 1, slots, channels);
        expectClose(r.output.slice(t * channels, (t + 1) * channels), hull, 1e-9);
      }
      expect(zeroed).toBeGreaterThan(0);
    });
  }

  it("a threshold above every weight zeroes the rows and the read", () => {
    const r = read(0.99, "dot");
    expect(r.weights.every((v) => v === 0)).toBe(true);
    expect(r.output.every((v) => v === 0)).toBe(true);
  });

  it("Memory initialises rows U(±1/√C) and reads with the configured rule", () => {
    const mem = new Memory(new Random(32), {
      slots: 50,
      channels: 16,
      shrink: { threshold: 0.05 },
      addressing: "dot",
    });
    expect(mem.weight.value.every((v) => Math.abs(v) <= 0.25)).toBe(true);
    const traced = traceModel(mem, { z: [3, 16] }, ({ z }) => ({ ...mem.forward(z) }));
    const r = runReference(traced, mem, { z: randomValues(33, 48).map((v) => 10 * v) });
    for (let t = 0; t < 3; t++) {
      const total = r.weights.slice(t * 50, (t + 1) * 50).reduce((a, v) => a + v, 0);
      expect(total === 0 || Math.abs(total - 1) < 1e-9).toBe(true);
    }
  });
});

describe("top-k straight-through read (§1.3)", () => {
  const queries = 4;
  const slots = 8;
  const channels = 3;
  const k = 5;
  const z = randomValues(40, queries * channels).map((v) => 2 * v);
  const memory = randomValues(41, slots * channels);
  const probe = randomValues(42, queries * channels);

  function traced(useTopK: boolean) {
    return traceModel(
      undefined,
      { z: [queries, channels], m: [slots, channels], r: [queries, channels] },
      (x) => {
        const read = useTopK ? topKRead(x.z, x.m, k) : memoryRead(x.z, x.m, { addressing: "dot" });
        const loss = T.sum(T.mul(read.output, x.r));
        const [dz] = T.grad(loss, [x.z]);
        return { output: read.output, weights: read.weights, dz };
      },
    );
  }

  it("keeps exactly k − 1 non-zero weights, at the largest logits, L1-normalised", () => {
    const r = runReference(traced(true), undefined, { z, m: memory, r: probe });
    const soft = runReference(traced(false), undefined, { z, m: memory, r: probe }).weights;
    for (let t = 0; t < queries; t++) {
      const row = r.weights.slice(t * slots, (t + 1) * slots);
      const softRow = soft.slice(t * slots, (t + 1) * slots);
      const kept = row.map((v, i) => (v > 0 ? i : -1)).filter((i) => i >= 0);
      expect(kept.length).toBe(k - 1);
      const largest = [...softRow.keys()].sort((a, b) => softRow[b] - softRow[a]).slice(0, k - 1);
      expect(kept.sort()).toEqual(largest.sort());
      expect(row.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 9);
      const keptMass = largest.reduce((a, i) => a + softRow[i], 0);
      for (const i of kept) expect(row[i]).toBeCloseTo(softRow[i] / keptMass, 6);
    }
  });

  it("its gradient with respect to the queries equals the softmax read's", () => {
    const hard = runReference(traced(true), undefined, { z, m: memory, r: probe });
    const soft = runReference(traced(false), undefined, { z, m: memory, r: probe });
    expect(hard.output).not.toEqual(soft.output);
    expectClose(hard.dz, soft.dz, 1e-9);
    expect(hard.dz.some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });

  it("runs on ONNX Runtime with the reference's forward values and gradient", async () => {
    const t = traced(true);
    const feeds = { z: Float32Array.from(z), m: Float32Array.from(memory), r: Float32Array.from(probe) };
    const expected = runReference(t, undefined, feeds);
    const compiled = await T.CompiledGraph.create(t.graph, t.outputs, { threads: 1 });
    const actual = await compiled.run(feeds);
    await compiled.release();
    expectClose(actual.weights as Float32Array, expected.weights, 1e-5);
    expectClose(actual.output as Float32Array, expected.output, 1e-5);
    expectClose(actual.dz as Float32Array, expected.dz, 1e-4);
  });
});

describe("squeeze-and-excitation (§1.4)", () => {
  it("scales each channel by one factor in (0, 1)", () => {
    const se = new SqueezeExcitation(new Random(50), { channels: 32, reduction: 16 });
    expect(se.fc1.weight.shape).toEqual([2, 32]);
    const shape = [2, 32, 3, 3];
    const x = randomValues(51, 2 * 32 * 9).map((v) => v + 2);
    const traced = traceModel(se, { x: shape }, ({ x }) => ({ y: se.forward(x) }));
    const { y } = runReference(traced, se, { x });
    for (let plane = 0; plane < 64; plane++) {
      const factors = Array.from({ length: 9 }, (_, i) => y[plane * 9 + i] / x[plane * 9 + i]);
      expect(factors[0]).toBeGreaterThan(0);
      expect(factors[0]).toBeLessThan(1);
      for (const f of factors) expect(f).toBeCloseTo(factors[0], 6);
    }
  });
});

describe("multi-head attention (§1.1)", () => {
  const d = 4;
  const heads = 2;
  const shapes = { q: [2, 2, d], kv: [2, 3, d] };
  const q = randomValues(60, 16);
  const kv = randomValues(61, 24);

  /** Direct per-head attention in float64 (batch b). */
  function direct(mha: MultiHeadAttention, masked: Set<string>): { output: number[]; weights: number[] } {
    const w = mha.inProjWeight.value;
    const b = mha.inProjBias.value;
    const project = (x: ArrayLike<number>, row: number, part: number) =>
      Array.from({ length: d }, (_, o) => {
        let acc = b[part * d + o];
        for (let i = 0; i < d; i++) acc += x[row * d + i] * w[(part * d + o) * d + i];
        return acc;
      });
    const output: number[] = [];
    const weights: number[] = [];
    const hd = d / heads;
    for (let batch = 0; batch < 2; batch++) {
      for (let t = 0; t < 2; t++) {
        const query = project(q, batch * 2 + t, 0);
        const merged: number[] = [];
        const average = [0, 0, 0];
        for (let h = 0; h < heads; h++) {
          const logits = [0, 1, 2].map((s) => {
            if (masked.has(`${batch},${s}`)) return Number.NEGATIVE_INFINITY;
            const key = project(kv, batch * 3 + s, 1);
            let dot = 0;
            for (let i = 0; i < hd; i++) dot += query[h * hd + i] * key[h * hd + i];
            return dot / Math.sqrt(hd);
          });
          const attention = softmaxRows(logits, 3);
          attention.forEach((a, s) => {
            average[s] += a / heads;
          });
          for (let i = 0; i < hd; i++)
            merged.push(
              [0, 1, 2].reduce((acc, s) => acc + attention[s] * project(kv, batch * 3 + s, 2)[h * hd + i], 0),
            );
        }
        weights.push(...average);
        const ow = mha.outProj.weight.value;
        for (let o = 0; o < d; o++) output.push(merged.reduce((acc, v, i) => acc + v * ow[o * d + i], 0));
      }
    }
    return { output, weights };
  }

  it("has Xavier in-projection, zero biases and PyTorch's parameter names", () => {
    const mha = new MultiHeadAttention(new Random(62), { embedDim: 8, heads: 2 });
    expect(mha.namedState().map(([n]) => n)).toEqual([
      "in_proj_weight",
      "in_proj_bias",
      "out_proj.weight",
      "out_proj.bias",
    ]);
    const bound = Math.sqrt(6 / (8 + 24));
    expect(mha.inProjWeight.value.every((v) => Math.abs(v) <= bound)).toBe(true);
    expect(Math.max(...mha.inProjWeight.value.map(Math.abs))).toBeGreaterThan(0.8 * bound);
    expect(mha.inProjBias.value.every((v) => v === 0)).toBe(true);
    expect(mha.outProj.bias!.value.every((v) => v === 0)).toBe(true);
    expect(mha.outProj.weight.value.every((v) => Math.abs(v) <= 1 / Math.sqrt(8))).toBe(true);
  });

  it("weights rows sum to 1 and the output equals a direct per-head computation", () => {
    const mha = new MultiHeadAttention(new Random(63), { embedDim: d, heads });
    const traced = traceModel(mha, { q: shapes.q, kv: shapes.kv }, ({ q, kv }) => ({
      ...mha.forward(q, kv, kv),
    }));
    expect(traced.outputs.output.shape).toEqual([2, 2, d]);
    const r = runReference(traced, mha, { q, kv });
    for (let row = 0; row < 4; row++)
      expect(r.weights.slice(row * 3, row * 3 + 3).reduce((a, v) => a + v, 0)).toBeCloseTo(1, 10);
    const expected = direct(mha, new Set());
    expectClose(r.weights, expected.weights, 1e-9);
    expectClose(r.output, expected.output, 1e-9);
  });

  it("a masked key gets weight exactly 0, on the reference and on ONNX Runtime", async () => {
    const mha = new MultiHeadAttention(new Random(64), { embedDim: d, heads });
    const { graph, result } = T.trace(() => {
      T.bind(mha);
      const query = T.input("q", shapes.q);
      const kvs = T.input("kv", shapes.kv);
      const mask = T.input("mask", [2, 3], "bool");
      return mha.forward(query, kvs, kvs, mask);
    });
    const mask = Uint8Array.from([0, 1, 0, 1, 0, 0]);
    const feeds = { ...stateFeeds(mha), q: Float32Array.from(q), kv: Float32Array.from(kv) };
    const [weights, output] = T.evaluateReference(graph, { ...feeds, mask }, [result.weights, result.output]);
    const expected = direct(mha, new Set(["0,1", "1,0"]));
    expectClose(Array.from(weights.data), expected.weights, 1e-9);
    expectClose(Array.from(output.data), expected.output, 1e-9);
    for (const i of [1, 4, 6, 9]) expect(weights.data[i]).toBe(0);
    const compiled = await T.CompiledGraph.create(graph, { ...result }, { threads: 1 });
    const actual = await compiled.run({ ...feeds, mask });
    await compiled.release();
    for (const i of [1, 4, 6, 9]) expect(actual.weights[i]).toBe(0);
    expectClose(actual.output as Float32Array, expected.output, 1e-5);
  });
});
