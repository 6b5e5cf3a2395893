/**
 * Forward semantics of every primitive op and every composite of the tensor API: the compiled ONNX
 * graph run on ONNX Runtime equals the float64 reference executor (float32 tolerance), on several
 * shapes and geometries each; plus hand-worked values for resize (PyTorch `F.interpolate`) and
 * average pooling, and the last test checks that every primitive in the op table was exercised.
 */
import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/api.js";
import { opSpecs } from "../../src/engine/ops/registry.js";
import { Random } from "../../src/util/random.js";
import {
  awayFromZero,
  convCases,
  convTransposeCases,
  distinct,
  type Feed,
  feed,
  forwardMatches,
  randn,
  seenOps,
  uniform,
} from "./helpers.js";

const data = (r: { data: Float64Array }) => Array.from(r.data);

/** The indices Python's range(n)[start:end:step] selects, by its documented rules. */
function pythonSlice(n: number, s: { start?: number; end?: number; step: number }): number[] {
  const clampTo = (v: number, low: number, high: number) => Math.min(Math.max(v < 0 ? v + n : v, low), high);
  const out: number[] = [];
  if (s.step > 0) {
    const end = s.end === undefined ? n : clampTo(s.end, 0, n);
    for (let i = s.start === undefined ? 0 : clampTo(s.start, 0, n); i < end; i += s.step) out.push(i);
  } else {
    const end = s.end === undefined ? -1 : clampTo(s.end, -1, n - 1);
    let i = s.start === undefined ? n - 1 : clampTo(s.start, -1, n - 1);
    while (i > end) {
      out.push(i);
      i += s.step;
    }
  }
  return out;
}

describe("element-wise ops", () => {
  const shapes = [[2, 3, 4], [5], []] as const;
  const unaries: Array<[string, (x: T.Tensor) => T.Tensor, (seed: number, s: readonly number[]) => Feed]> = [
    ["identity", T.identity, randn],
    ["neg", T.neg, randn],
    ["abs", T.abs, randn],
    ["sqrt", T.sqrt, (s, sh) => uniform(s, sh, 0.1, 4)],
    ["reciprocal", T.reciprocal, awayFromZero],
    ["rsqrt", T.rsqrt, (s, sh) => uniform(s, sh, 0.1, 4)],
    ["exp", T.exp, randn],
    ["log", T.log, (s, sh) => uniform(s, sh, 0.05, 5)],
    ["square", T.square, randn],
    ["relu", T.relu, randn],
    ["relu6", T.relu6, (s, sh) => randn(s, sh, 5)],
    ["leakyRelu", (x) => T.leakyRelu(x, 0.2), randn],
    ["sigmoid", T.sigmoid, (s, sh) => randn(s, sh, 4)],
    ["tanh", T.tanh, (s, sh) => randn(s, sh, 2)],
    ["erf", T.erf, (s, sh) => randn(s, sh, 2)],
    ["gelu", T.gelu, (s, sh) => randn(s, sh, 3)],
    ["clip", (x) => T.clip(x, -0.5, 0.7), randn],
  ];
  for (const [name, fn, make] of unaries) {
    it(`${name} on ${shapes.length} shapes`, async () => {
      for (const [k, shape] of shapes.entries()) await forwardMatches([make(10 + k, shape)], fn);
    });
  }

  it("sign (including exact zeros)", async () => {
    const [y] = await forwardMatches([feed([5], [-2, 0, 3, -0.5, 0])], T.sign);
    expect(data(y)).toEqual([-1, 0, 1, -1, 0]);
  });

  const pairs: Array<[readonly number[], readonly number[]]> = [
    [
      [2, 3, 4],
      [2, 3, 4],
    ],
    [
      [2, 3, 4],
      [3, 1],
    ],
    [[4], [2, 1, 4]],
    [
      [2, 1, 5],
      [1, 3, 1],
    ],
    [[2, 3], []],
  ];
  const binaries: Array<[string, (a: T.Tensor, b: T.Tensor) => T.Tensor, boolean]> = [
    ["add", T.add, false],
    ["sub", T.sub, false],
    ["mul", T.mul, false],
    ["div", T.div, true],
    ["pow", T.pow, true],
    ["maximum", T.maximum, false],
    ["minimum", T.minimum, false],
  ];
  for (const [name, fn, positive] of binaries) {
    it(`${name} with broadcasting`, async () => {
      for (const [k, [sa, sb]] of pairs.entries()) {
        const a = positive ? uniform(k, sa, 0.2, 3) : randn(k, sa);
        const b =
          name === "pow" ? randn(k + 50, sb) : positive ? awayFromZero(k + 50, sb) : randn(k + 50, sb);
        await forwardMatches([a, b], fn);
      }
    });
  }

  it("binary ops with a number operand on either side", async () => {
    const [y1, y2, y3] = await forwardMatches([feed([3], [1, 2, 4])], (x) => [
      T.sub(1, x),
      T.div(x, 2),
      T.pow(x, 2),
    ]);
    expect(data(y1)).toEqual([0, -1, -3]);
    expect(data(y2)).toEqual([0.5, 1, 2]);
    expect(data(y3)).toEqual([1, 4, 16]);
  });

  it("comparisons, logic and where (with ties)", async () => {
    const a = feed([2, 3], [1, 2, 3, 4, 5, 6]);
    const b = feed([3], [2, 2, 5]);
    const [eq, gt, lt, ge, le, and, or, not, w] = await forwardMatches([a, b], (x, y) => {
      const g = T.greater(x, y);
      const l = T.less(x, y);
      return [
        T.equal(x, y),
        g,
        l,
        T.greaterEqual(x, y),
        T.lessEqual(x, y),
        T.logicalAnd(T.greaterEqual(x, y), T.lessEqual(x, y)),
        T.logicalOr(g, l),
        T.logicalNot(g),
        T.where(g, x, y),
      ];
    });
    expect(data(eq)).toEqual([0, 1, 0, 0, 0, 0]);
    expect(data(gt)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(data(lt)).toEqual([1, 0, 1, 0, 0, 0]);
    expect(data(ge)).toEqual([0, 1, 0, 1, 1, 1]);
    expect(data(le)).toEqual([1, 1, 1, 0, 0, 0]);
    expect(data(and)).toEqual(data(eq));
    expect(data(or)).toEqual([1, 0, 1, 1, 1, 1]);
    expect(data(not)).toEqual([1, 1, 1, 0, 0, 0]);
    expect(data(w)).toEqual([2, 2, 5, 4, 5, 6]);
  });

  it("where broadcasts condition and both branches, with number branches", async () => {
    await forwardMatches([randn(1, [2, 1, 4]), randn(2, [3, 1])], (x, y) => [
      T.where(T.greater(x, 0), x, y),
      T.where(T.greater(y, 0), 1, x),
    ]);
    const [mask] = await forwardMatches([feed([3], [-1, 0.5, 2])], (x) => T.where(T.greater(x, 0), 1, 0));
    expect(data(mask)).toEqual([0, 1, 1]);
  });

  it("cast between float32, int64 and bool (truncation toward zero)", async () => {
    const [i, b, f, fb] = await forwardMatches([feed([6], [-1.7, -0.2, 0, 0.5, 2.9, 3])], (x) => {
      const asInt = T.cast(x, "int64");
      return [asInt, T.cast(x, "bool"), T.cast(asInt, "float32"), T.cast(T.cast(x, "bool"), "float32")];
    });
    expect(data(i)).toEqual([-1, 0, 0, 0, 2, 3]);
    expect(data(b)).toEqual([1, 1, 0, 1, 1, 1]);
    expect(data(f)).toEqual([-1, 0, 0, 0, 2, 3]);
    expect(data(fb)).toEqual([1, 1, 0, 1, 1, 1]);
  });
});

describe("reductions and normalised exponentials", () => {
  const x = distinct(3, [2, 3, 4]);
  const axesCases: Array<number | number[] | undefined> = [undefined, 0, -1, [0, 2], [1]];
  for (const [name, fn] of [
    ["sum", T.sum],
    ["mean", T.mean],
    ["max", T.max],
    ["min", T.min],
  ] as const) {
    it(`${name} over several axes, with and without keepDims`, async () => {
      for (const axes of axesCases) {
        for (const keep of [false, true]) await forwardMatches([x], (t) => fn(t, axes, keep));
      }
    });
  }

  it("an empty axes list: ReduceX reduces every axis (ONNX), the API reduces nothing (numpy)", async () => {
    const [all, none] = await forwardMatches([feed([2, 3], [1, 2, 3, 4, 5, 6])], (t) => [
      T.emit("ReduceSum", [t, T.ints([])], { keepdims: 0 })[0],
      T.neg(T.sum(t, [])),
    ]);
    expect(all.shape).toEqual([]);
    expect(data(all)).toEqual([21]);
    expect(data(none)).toEqual([-1, -2, -3, -4, -5, -6]);
  });

  it("argMax and argMin", async () => {
    const [a0, a1, m] = await forwardMatches([feed([2, 3], [1, 5, 2, 9, -1, 4])], (t) => [
      T.argMax(t, 1),
      T.argMax(t, 0, true),
      T.argMin(t, -1),
    ]);
    expect(data(a0)).toEqual([1, 0]);
    expect(data(a1)).toEqual([1, 0, 1]);
    expect(data(m)).toEqual([0, 1]);
  });

  it("softmax, logSoftmax and logSumExp on several axes", async () => {
    for (const axis of [-1, 0, 1]) {
      await forwardMatches([randn(4, [2, 3, 4], 3)], (t) => [
        T.softmax(t, axis),
        T.logSoftmax(t, axis),
        T.logSumExp(t, axis),
        T.logSumExp(t, [axis, 2], true),
      ]);
    }
    const [s] = await forwardMatches([feed([2], [0, Math.log(3)])], (t) => T.softmax(t));
    expect(data(s)[0]).toBeCloseTo(0.25, 7);
  });

  it("topK largest and smallest along each axis", async () => {
    for (const axis of [0, 1, -1]) {
      for (const largest of [true, false]) {
        await forwardMatches([distinct(5, [3, 4, 5])], (t) => {
          const { values, indices } = T.topK(t, 2, axis, largest);
          return [values, indices];
        });
      }
    }
    const [v, i] = await forwardMatches([feed([5], [3, 9, -1, 7, 0])], (t) => {
      const r = T.topK(t, 3);
      return [r.values, r.indices];
    });
    expect(data(v)).toEqual([9, 7, 3]);
    expect(data(i)).toEqual([1, 3, 0]);
  });

  it("sumTo reduces broadcast axes", async () => {
    const [a, b, c] = await forwardMatches([randn(6, [2, 3, 4])], (t) => [
      T.sumTo(t, [3, 1]),
      T.sumTo(t, [1, 3, 4]),
      T.sumTo(t, [4]),
    ]);
    expect(a.shape).toEqual([3, 1]);
    expect(b.shape).toEqual([1, 3, 4]);
    expect(c.shape).toEqual([4]);
  });
});

describe("linear algebra", () => {
  const cases: Array<[readonly number[], readonly number[]]> = [
    [
      [3, 4],
      [4, 5],
    ],
    [
      [2, 3, 4],
      [4, 5],
    ],
    [
      [3, 4],
      [2, 4, 5],
    ],
    [
      [2, 1, 3, 4],
      [5, 4, 2],
    ],
  ];
  it("matMul with broadcast batch dimensions", async () => {
    for (const [k, [a, b]] of cases.entries()) await forwardMatches([randn(k, a), randn(k + 9, b)], T.matMul);
    const [y] = await forwardMatches([feed([1, 2], [1, 2]), feed([2, 2], [3, 4, 5, 6])], T.matMul);
    expect(data(y)).toEqual([13, 16]);
  });

  it("linear with and without bias (PyTorch weight layout)", async () => {
    await forwardMatches([randn(1, [2, 3, 4]), randn(2, [5, 4]), randn(3, [5])], (x, w, b) => [
      T.linear(x, w, b),
      T.linear(x, w),
    ]);
    const [y] = await forwardMatches(
      [feed([1, 2], [1, 2]), feed([1, 2], [3, 4]), feed([1], [0.5])],
      T.linear,
    );
    expect(data(y)).toEqual([11.5]);
  });
});

describe("shape ops", () => {
  it("reshape (with -1), flatten, transpose", async () => {
    const [r, f, t] = await forwardMatches([randn(1, [2, 3, 4])], (x) => [
      T.reshape(x, [-1, 4]),
      T.flatten(x),
      T.transpose(x, [2, 0, 1]),
    ]);
    expect(r.shape).toEqual([6, 4]);
    expect(f.shape).toEqual([2, 12]);
    expect(t.shape).toEqual([4, 2, 3]);
  });

  it("slice with steps 1, 2, 3, negative steps and negative bounds", async () => {
    const ramp = feed(
      [3, 8],
      Array.from({ length: 24 }, (_, i) => i),
    );
    const [a, b, c, d, e, f, g] = await forwardMatches([ramp], (x) => [
      T.slice(x, [{ axis: 1, start: 1, end: 6 }]),
      T.slice(x, [{ axis: 1, step: 2 }]),
      T.slice(x, [{ axis: -1, start: 1, step: 3 }]),
      T.slice(x, [{ axis: 1, step: -1 }]),
      T.slice(x, [{ axis: 1, start: -2, end: 0, step: -2 }]),
      T.slice(x, [
        { axis: 0, step: -2 },
        { axis: 1, start: -3, end: 8 },
      ]),
      T.slice(x, [{ axis: 1, start: 6, step: -3 }]),
    ]);
    expect(data(a).slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(data(b).slice(0, 4)).toEqual([0, 2, 4, 6]);
    expect(data(c).slice(0, 3)).toEqual([1, 4, 7]);
    expect(data(d).slice(0, 8)).toEqual([7, 6, 5, 4, 3, 2, 1, 0]);
    expect(data(e).slice(0, 3)).toEqual([6, 4, 2]);
    expect(data(f)).toEqual([21, 22, 23, 5, 6, 7]);
    expect(data(g).slice(0, 3)).toEqual([6, 3, 0]);
  });

  it("slice follows Python on 60 random bounds; the raw Slice op follows ONNX clamping", async () => {
    const rng = new Random(5);
    const bound = (n: number) => (rng.uniform() < 0.2 ? undefined : rng.int(2 * n + 6) - n - 3);
    for (let t = 0; t < 60; t++) {
      const n = 1 + rng.int(7);
      const spec = { axis: 1, start: bound(n), end: bound(n), step: [1, 2, 3, -1, -2, -3][rng.int(6)] };
      const ramp = feed(
        [1, n],
        Array.from({ length: n }, (_, i) => i),
      );
      const [y] = await forwardMatches([ramp], (x) => T.slice(x, [spec]));
      expect(data(y), JSON.stringify({ n, ...spec })).toEqual(pythonSlice(n, spec));
      await forwardMatches([ramp], (x) =>
        T.emit("Slice", [
          x,
          T.ints([spec.start ?? 0]),
          T.ints([spec.end ?? n]),
          T.ints([1]),
          T.ints([spec.step]),
        ]),
      );
    }
    // Python's x[-4::-1] on two elements is empty; ONNX clamps the start to 0 and yields x[0].
    const two = feed([1, 2], [5, 6]);
    const [python] = await forwardMatches([two], (x) => T.slice(x, [{ axis: 1, start: -4, step: -1 }]));
    expect(data(python)).toEqual([]);
    const [onnx] = await forwardMatches([two], (x) =>
      T.emit("Slice", [x, T.ints([-4]), T.ints([-(2 ** 53)]), T.ints([1]), T.ints([-1])]),
    );
    expect(data(onnx)).toEqual([5]);
  });

  it("concat and split", async () => {
    const [c, s0, s1, s2] = await forwardMatches([randn(1, [2, 3]), randn(2, [2, 2])], (a, b) => {
      const cat = T.concat([a, b], 1);
      return [cat, ...T.split(cat, [1, 3, 1], -1)];
    });
    expect(c.shape).toEqual([2, 5]);
    expect(data(s0)).toEqual([data(c)[0], data(c)[5]]);
    expect(s1.shape).toEqual([2, 3]);
    expect(data(s2)).toEqual([data(c)[4], data(c)[9]]);
  });

  it("pad constant and reflect (composite and primitive)", async () => {
    const x = feed(
      [1, 1, 3, 4],
      Array.from({ length: 12 }, (_, i) => i),
    );
    const [constant, reflect, primitive] = await forwardMatches([x], (t) => [
      T.pad(t, [0, 0, 1, 2, 0, 0, 2, 1], "constant", -1),
      T.pad(t, [0, 0, 2, 3, 0, 0, 1, 2], "reflect"),
      T.emit("Pad", [t, T.ints([0, 0, 2, 3, 0, 0, 1, 2])], { mode: "reflect" })[0],
    ]);
    expect(constant.shape).toEqual([1, 1, 6, 7]);
    expect(data(constant).slice(0, 7)).toEqual([-1, -1, -1, -1, -1, -1, -1]);
    expect(data(constant).slice(7, 14)).toEqual([-1, -1, 0, 1, 2, 3, -1]);
    expect(data(reflect)).toEqual(data(primitive));
    // Row order 2,1,0,1,2,1 and column order 3,2,1,0,1,2,3,2,1 (numpy "reflect").
    expect(data(reflect).slice(0, 9)).toEqual([11, 10, 9, 8, 9, 10, 11, 10, 9]);
  });

  it("pad with negative pads crops", async () => {
    const [y] = await forwardMatches([feed([2, 3], [1, 2, 3, 4, 5, 6])], (t) => T.pad(t, [-1, 1, 0, -2]));
    expect(data(y)).toEqual([0, 4]);
  });

  it("tile and expand", async () => {
    const [t, e] = await forwardMatches([feed([2, 1], [1, 2])], (x) => [
      T.tile(x, [2, 3]),
      T.expand(x, [3, 2, 2]),
    ]);
    expect(data(t)).toEqual([1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2]);
    expect(data(e)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2]);
    await forwardMatches([randn(1, [2, 3, 1])], (x) => [T.tile(x, [1, 2, 3]), T.expand(x, [2, 2, 3, 4])]);
  });
});

describe("indexing ops", () => {
  const x = feed(
    [3, 4],
    Array.from({ length: 12 }, (_, i) => i),
  );

  it("gather with negative and 2-D indices on each axis", async () => {
    const [g0, g1, g2, g3] = await forwardMatches([x], (t) => [
      T.gather(t, T.constant([-1, 0], [2], "int64"), 0),
      T.gather(t, T.constant([3, -3, 0, -1], [2, 2], "int64"), 1),
      T.gather(t, T.constant([1], [1], "int64"), -1),
      T.gather(t, T.constant([-2], [], "int64"), 1),
    ]);
    expect(data(g0)).toEqual([8, 9, 10, 11, 0, 1, 2, 3]);
    expect(g1.shape).toEqual([3, 2, 2]);
    expect(data(g1).slice(0, 4)).toEqual([3, 1, 0, 3]);
    expect(data(g2)).toEqual([1, 5, 9]);
    expect(data(g3)).toEqual([2, 6, 10]);
  });

  it("gather with runtime indices", async () => {
    await forwardMatches([randn(1, [3, 4, 2]), feed([2, 3], [0, -1, 2, 1, 1, -4], "int64")], (t, i) =>
      T.gather(t, i, 1),
    );
  });

  it("gatherElements with negative indices", async () => {
    const [g] = await forwardMatches([x], (t) =>
      T.gatherElements(t, T.constant([0, -1, 2, -2], [2, 2], "int64"), 1),
    );
    expect(data(g)).toEqual([0, 3, 6, 6]);
    await forwardMatches([randn(2, [3, 4]), feed([2, 4], [0, 2, -1, 1, 2, 0, 1, -3], "int64")], (t, i) =>
      T.gatherElements(t, i, 0),
    );
  });

  it("scatterElements none and add (duplicates accumulate)", async () => {
    const [none, add] = await forwardMatches([x, feed([2, 2], [10, 20, 30, 40])], (t, u) => {
      const idx = T.constant([1, -1, 0, 0], [2, 2], "int64");
      return [
        T.scatterElements(t, T.constant([1, -1, 0, 2], [2, 2], "int64"), u, 1),
        T.scatterElements(t, idx, u, 1, "add"),
      ];
    });
    expect(data(none).slice(0, 8)).toEqual([0, 10, 2, 20, 30, 5, 40, 7]);
    expect(data(add).slice(0, 8)).toEqual([0, 11, 2, 23, 74, 5, 6, 7]);
    await forwardMatches([randn(1, [3, 4]), randn(2, [2, 4])], (t, u) =>
      T.scatterElements(t, T.constant([0, 2, 1, 0, 2, 1, 0, 1], [2, 4], "int64"), u, 0, "add"),
    );
  });

  it("scatterND none and add with negative indices", async () => {
    const [none, add] = await forwardMatches([x, feed([2, 4], [1, 1, 1, 1, 2, 2, 2, 2])], (t, u) => [
      T.scatterND(t, T.constant([-1, 0], [2, 1], "int64"), u),
      T.scatterND(t, T.constant([0, 0], [2, 1], "int64"), u, "add"),
    ]);
    expect(data(none)).toEqual([2, 2, 2, 2, 4, 5, 6, 7, 1, 1, 1, 1]);
    expect(data(add).slice(0, 4)).toEqual([3, 4, 5, 6]);
    const [point] = await forwardMatches([x, feed([2], [-5, 50])], (t, u) =>
      T.scatterND(t, T.constant([1, -1, 2, 0], [2, 2], "int64"), u),
    );
    expect(data(point)[7]).toBe(-5);
    expect(data(point)[8]).toBe(50);
  });
});

describe("convolution and pooling", () => {
  for (const [k, c] of convCases.entries()) {
    it(`conv2d: ${c.name}`, async () => {
      const feeds = [randn(k, c.x), randn(k + 20, c.w), ...(c.bias ? [randn(k + 40, [c.w[0]])] : [])];
      await forwardMatches(feeds, (x, w, b) => T.conv2d(x, w, b, c.options));
    });
  }

  it("conv2d on a hand case", async () => {
    const [y] = await forwardMatches(
      [feed([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]), feed([1, 1, 2, 2], [1, 0, 0, -1]), feed([1], [10])],
      (x, w, b) => T.conv2d(x, w, b),
    );
    expect(data(y)).toEqual([6, 6, 6, 6]);
  });

  for (const [k, c] of convTransposeCases.entries()) {
    it(`convTranspose2d: ${c.name}`, async () => {
      const feeds = [
        randn(k, c.x),
        randn(k + 20, c.w),
        ...(c.bias ? [randn(k + 40, [c.w[1] * (c.options.groups ?? 1)])] : []),
      ];
      await forwardMatches(feeds, (x, w, b) => T.convTranspose2d(x, w, b, c.options));
    });
  }

  it("convTranspose2d on a hand case (stride 2 scatters the kernel)", async () => {
    const [y] = await forwardMatches([feed([1, 1, 1, 2], [1, 2]), feed([1, 1, 1, 2], [1, 10])], (x, w) =>
      T.convTranspose2d(x, w, undefined, { stride: 2 }),
    );
    expect(data(y)).toEqual([1, 10, 2, 20]);
  });

  it("maxPool2d values and flat indices", async () => {
    for (const [shape, options] of [
      [[2, 2, 4, 6], { kernel: 2 }],
      [[1, 3, 7, 9], { kernel: 3, stride: 2, padding: 1 }],
      [[1, 2, 5, 5], { kernel: [2, 3], stride: 1 }],
      [[1, 1, 7, 9], { kernel: 3, stride: 2, padding: "same" }],
    ] as const) {
      await forwardMatches([distinct(1, shape)], (x) => {
        const attrs = T.maxPool2d(x, options).producer!.attrs;
        return [T.maxPool2d(x, options), T.emit("MaxPool", [x], attrs)[1]];
      });
    }
    const [v, i] = await forwardMatches([feed([1, 1, 2, 4], [1, 5, 2, 0, 3, 4, 8, 7])], (x) =>
      T.emit("MaxPool", [x], { kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] }),
    );
    expect(data(v)).toEqual([5, 8]);
    expect(data(i)).toEqual([1, 6]);
  });

  it("avgPool2d with and without countIncludePad equals a direct average", async () => {
    const shape = [1, 2, 7, 9];
    const x = randn(3, shape);
    for (const options of [
      { kernel: 2 },
      { kernel: 3, stride: 2, padding: 1 },
      { kernel: 3, stride: 2, padding: 1, countIncludePad: false },
      { kernel: [3, 2] as const, stride: 1, padding: "same" as const, countIncludePad: false },
    ]) {
      const [y] = await forwardMatches([x], (t) => T.avgPool2d(t, options));
      const [, , oh, ow] = y.shape;
      const pads = T.resolvePadding(
        options.padding,
        [7, 9],
        typeof options.kernel === "number" ? [options.kernel, options.kernel] : options.kernel,
        [options.stride ?? 2, options.stride ?? 2],
        [1, 1],
      );
      const [kh, kw] = typeof options.kernel === "number" ? [options.kernel, options.kernel] : options.kernel;
      const stride = options.stride ?? options.kernel;
      const xs = Float32Array.from(x.data);
      for (let c = 0; c < 2; c++) {
        for (let oy = 0; oy < oh; oy++) {
          for (let ox = 0; ox < ow; ox++) {
            let s = 0;
            let n = 0;
            for (let ky = 0; ky < kh; ky++) {
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * (stride as number) - pads[0] + ky;
                const ix = ox * (stride as number) - pads[1] + kx;
                if (iy < 0 || iy >= 7 || ix < 0 || ix >= 9) continue;
                s += xs[(c * 7 + iy) * 9 + ix];
                n++;
              }
            }
            const expected = s / (options.countIncludePad === false ? n : kh * kw);
            expect(y.data[(c * oh + oy) * ow + ox]).toBeCloseTo(expected, 12);
          }
        }
      }
    }
  });

  it("globalAvgPool", async () => {
    const [y] = await forwardMatches([feed([1, 2, 2, 2], [1, 2, 3, 4, 0, 0, 0, 8])], T.globalAvgPool);
    expect(y.shape).toEqual([1, 2, 1, 1]);
    expect(data(y)).toEqual([2.5, 2]);
  });
});

describe("resize", () => {
  it("bilinear 2×2 -> 4×4 equals PyTorch F.interpolate(align_corners=False)", async () => {
    const [y] = await forwardMatches([feed([1, 1, 2, 2], [1, 2, 3, 4])], (x) => T.resize(x, [4, 4]));
    expect(data(y)).toEqual([1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4]);
  });

  it("bilinear 5 -> 3 (non-integer ratio, downscale) follows the half-pixel formula", async () => {
    const [y] = await forwardMatches([feed([1, 1, 1, 5], [0, 1, 2, 3, 4])], (x) => T.resize(x, [1, 3]));
    // Source coordinates (o + 0.5)·5/3 − 0.5 = 1/3, 2, 11/3, linear data: the value is the coordinate.
    expect(data(y)[0]).toBeCloseTo(1 / 3, 12);
    expect(data(y)[1]).toBeCloseTo(2, 12);
    expect(data(y)[2]).toBeCloseTo(11 / 3, 12);
  });

  it("nearest 2×3 -> 4×6 repeats and 5 -> 3 picks floor(o·5/3)", async () => {
    const [up] = await forwardMatches([feed([1, 1, 2, 3], [1, 2, 3, 4, 5, 6])], (x) =>
      T.resize(x, [4, 6], "nearest"),
    );
    expect(data(up).slice(0, 12)).toEqual([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
    const [down] = await forwardMatches([feed([1, 1, 1, 5], [10, 11, 12, 13, 14])], (x) =>
      T.resize(x, [1, 3], "nearest"),
    );
    expect(data(down)).toEqual([10, 11, 13]);
  });

  it("up, down and non-integer ratios, both modes, on ORT", async () => {
    for (const mode of ["bilinear", "nearest"] as const) {
      for (const [from, to] of [
        [
          [3, 4],
          [6, 8],
        ],
        [
          [8, 8],
          [3, 5],
        ],
        [
          [5, 7],
          [8, 3],
        ],
        [
          [4, 4],
          [4, 7],
        ],
      ] as const) {
        await forwardMatches([randn(1, [2, 2, ...from])], (x) => T.resize(x, to, mode));
      }
    }
  });

  it("interpolation matrices have rows that sum to 1", () => {
    for (const mode of ["bilinear", "nearest"] as const) {
      for (const [n, m] of [
        [2, 4],
        [5, 3],
        [7, 7],
        [3, 8],
        [8, 3],
        [1, 4],
      ]) {
        const matrix = T.interpolationMatrix(n, m, mode);
        for (let o = 0; o < m; o++) {
          const row = matrix.slice(o * n, (o + 1) * n);
          expect(row.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 14);
          expect(Math.min(...row)).toBeGreaterThanOrEqual(0);
        }
      }
    }
  });
});

describe("gradient-control ops", () => {
  it("stopGradient and straightThrough pass the value through on ORT", async () => {
    const [s, t] = await forwardMatches([feed([3], [1, 2, 3]), feed([3], [7, 8, 9])], (a, b) => [
      T.stopGradient(a),
      T.straightThrough(a, b),
    ]);
    expect(data(s)).toEqual([1, 2, 3]);
    expect(data(t)).toEqual([1, 2, 3]);
  });

  it("batchNormTrain normalises with the batch statistics on ORT", async () => {
    const [y, mean, variance] = await forwardMatches(
      [feed([2, 2, 1, 1], [1, 10, 3, 30]), feed([1, 2, 1, 1], [2, 1]), feed([1, 2, 1, 1], [0, 5])],
      (x, gamma, beta) => {
        const out = T.batchNormTrain(x, gamma, beta, [0, 2, 3], 0);
        return [out.y, out.mean, out.variance];
      },
    );
    expect(data(mean)).toEqual([2, 20]);
    expect(data(variance)).toEqual([1, 100]);
    expect(data(y)).toEqual([-2, 4, 2, 6]);
  });
});

describe("coverage", () => {
  it("every primitive in the op table was run on ORT and on the reference", () => {
    const missing = Object.keys(opSpecs).filter((op) => !seenOps.has(op));
    expect(missing).toEqual([]);
  });
});
