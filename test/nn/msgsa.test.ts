/**
 * MSGSA block (methods.md §5.2, §5.8): each mode's output size, attention rows sum to 1 over at most 336
 * multi-scale tokens, γ = 0 makes the block equal its plain resampling conv exactly (and γ ≠ 0 does
 * not), the attention output equals softmax(QKᵀ/√C_k)·V recomputed by hand, adaptive pooling has
 * PyTorch's bins, and no tensor of the traced graph has an (H'W')² attention matrix.
 */
import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/index.js";
import { adaptivePoolMatrix, Msgsa, type ResampleMode } from "../../src/nn/index.js";
import { Random } from "../../src/util/random.js";
import { expectClose, randomValues, runReference, traceModel } from "./helpers.js";

function build(mode: ResampleMode, attention = true, seed = 3) {
  return new Msgsa(new Random(seed), { in: 3, out: 16, mode, attention }).eval();
}

function run(block: Msgsa, shape: number[], x: Float32Array) {
  const traced = traceModel(block, { x: shape }, ({ x }) => {
    const r = block.run(x);
    return {
      output: r.output,
      resampled: r.resampled,
      ...(r.weights ? { weights: r.weights } : {}),
    };
  });
  return { traced, values: runReference(traced, block, { x }) };
}

const shape = [2, 3, 16, 16];
const x = randomValues(5, 2 * 3 * 16 * 16);

describe("MSGSA block", () => {
  it("down halves, same keeps and up doubles the spatial size", () => {
    for (const [mode, side] of [
      ["down", 8],
      ["same", 16],
      ["up", 32],
    ] as const) {
      const { traced } = run(build(mode), shape, x);
      expect(traced.outputs.output.shape, mode).toEqual([2, 16, side, side]);
    }
  });

  it("attention rows sum to 1 over the 16 + 64 + 256 pooled tokens", () => {
    const { traced, values } = run(build("same"), shape, x);
    expect(traced.outputs.weights.shape).toEqual([2, 256, 336]);
    for (let row = 0; row < 2 * 256; row++) {
      const total = values.weights.slice(row * 336, (row + 1) * 336).reduce((a, v) => a + v, 0);
      expect(Math.abs(total - 1)).toBeLessThan(1e-12);
    }
    // At 8×8 (down) the 16×16 grid is dropped: 16 + 64 tokens.
    expect(run(build("down"), shape, x).traced.outputs.weights.shape).toEqual([2, 64, 80]);
  });

  it("γ = 0 gives exactly the plain resampling block; γ ≠ 0 adds the attention output", async () => {
    for (const mode of ["down", "same", "up"] as const) {
      const withAttention = build(mode, true);
      const plain = build(mode, false);
      expect(plain.namedParameters().length).toBeLessThan(withAttention.namedParameters().length);
      const a = run(withAttention, shape, x).values;
      const b = run(plain, shape, x).values;
      expect(a.output).toEqual(b.output);
      expect(a.output).toEqual(a.resampled);
    }
    const block = build("same");
    block.gamma!.value = Float32Array.of(0.5);
    const r = run(block, shape, x).values;
    const differs = r.output.some((v, i) => Math.abs(v - r.resampled[i]) > 1e-6);
    expect(differs).toBe(true);
  });

  it("the output is Y + γ·softmax(Q·Kᵀ/√C_k)·V with shared 1×1 key and value projections", () => {
    const block = new Msgsa(new Random(4), { in: 2, out: 8, mode: "same", grids: [2, 4] }).eval();
    block.gamma!.value = Float32Array.of(0.7);
    const side = 4;
    const input = randomValues(6, 2 * side * side);
    const { values } = run(block, [1, 2, side, side], input);
    const y = values.resampled;
    const c = 8;
    const ck = block.keyChannels;
    // Pooled tokens: 2×2 grid then 4×4 grid (the map itself).
    const tokens: number[][] = [];
    for (let gy = 0; gy < 2; gy++)
      for (let gx = 0; gx < 2; gx++)
        tokens.push(
          Array.from({ length: c }, (_, ch) => {
            let s = 0;
            for (let dy = 0; dy < 2; dy++)
              for (let dx = 0; dx < 2; dx++) s += y[ch * 16 + (2 * gy + dy) * side + 2 * gx + dx];
            return s / 4;
          }),
        );
    for (let p = 0; p < 16; p++) tokens.push(Array.from({ length: c }, (_, ch) => y[ch * 16 + p]));
    const project = (conv: NonNullable<Msgsa["key"]>, v: number[], out: number) =>
      Array.from({ length: out }, (_, o) => {
        let s = conv.bias!.value[o];
        for (let i = 0; i < c; i++) s += conv.weight.value[o * c + i] * v[i];
        return s;
      });
    const keys = tokens.map((t) => project(block.key!, t, ck));
    const vals = tokens.map((t) => project(block.value!, t, c));
    const expected: number[] = new Array(c * 16);
    for (let p = 0; p < 16; p++) {
      const q = project(
        block.query!,
        Array.from({ length: c }, (_, ch) => y[ch * 16 + p]),
        ck,
      );
      const logits = keys.map((k) => k.reduce((a, kv, i) => a + kv * q[i], 0) / Math.sqrt(ck));
      const m = Math.max(...logits);
      const e = logits.map((l) => Math.exp(l - m));
      const total = e.reduce((a, v) => a + v, 0);
      for (let ch = 0; ch < c; ch++) {
        const o = e.reduce((a, w, t) => a + (w / total) * vals[t][ch], 0);
        expected[ch * 16 + p] = y[ch * 16 + p] + block.gamma!.value[0] * o;
      }
    }
    expectClose(values.output, expected, 1e-9);
  });

  it("adaptive pooling uses PyTorch's bins", () => {
    // 5 → 3: bins [0, 2), [1, 4), [3, 5).
    expect(adaptivePoolMatrix(5, 3)).toEqual([
      0.5,
      0.5,
      0,
      0,
      0,
      0,
      1 / 3,
      1 / 3,
      1 / 3,
      0,
      0,
      0,
      0,
      0.5,
      0.5,
    ]);
  });

  it("no tensor in the traced graph is an (H'W')² attention matrix", () => {
    const { traced } = run(build("same"), shape, x);
    const area = 16 * 16;
    const tensors = traced.graph.nodes.flatMap((n) => n.outputs);
    expect(tensors.length).toBeGreaterThan(10);
    for (const t of tensors) expect(t.shape.filter((d) => d === area).length, t.shape.join()).toBeLessThan(2);
  });

  it("traces to ONNX Runtime with the reference's numbers", async () => {
    const block = build("up");
    block.gamma!.value = Float32Array.of(0.3);
    const { traced, values } = run(block, shape, x);
    const compiled = await T.CompiledGraph.create(traced.graph, { y: traced.outputs.output }, { threads: 1 });
    const feeds = Object.fromEntries(block.namedState().map(([n, p]) => [n, p.value]));
    const got = (await compiled.run({ ...feeds, x })).y as Float32Array;
    await compiled.release();
    expectClose(got, values.output, 1e-4);
  });
});
