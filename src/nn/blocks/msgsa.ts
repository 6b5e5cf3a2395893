/**
 * Multi-scale global spatial attention (MSGSA) block of MAMA Net (methods.md §5.2; the paper's abstract
 * only says it works as a sampling, upsampling and downsampling function, the design is ours):
 *
 * 1. Resampling: `down` = Conv 3×3 s2 p1, `same` = Conv 3×3 s1 p1, `up` = ConvTranspose 4×4 s2 p1, then
 *    BatchNorm and LeakyReLU(0.2) → Y [B, C_out, H', W'].
 * 2. Attention: queries Q = Conv1×1(Y) with C_k = max(8, C_out/8) channels at every position; for every
 *    grid g ∈ {4, 8, 16} with g ≤ min(H', W'), Y is adaptive-average-pooled to g×g; the pooled tokens of
 *    all scales (at most 16 + 64 + 256 = 336) go through one shared 1×1 key projection (C_k channels) and
 *    one shared 1×1 value projection (C_out channels); A = softmax over tokens of Q·Kᵀ/√C_k (the core of
 *    attention.ts, `scaledDotProductAttention`), O = A·V. The weights are [B, H'W', tokens]: no (H'W')²
 *    matrix exists anywhere, so the cost is O(H'W'·336·C_out).
 * 3. Z = Y + γ·O with a learnable scalar γ initialised to 0, so the block starts as its resampling conv.
 *
 * Choices where the spec is silent [ours]: the resampling convolution has no bias (BatchNorm follows);
 * the 1×1 projections have PyTorch's default initialisation and biases; adaptive pooling uses PyTorch's
 * bins (start ⌊i·H/g⌋, end ⌈(i+1)·H/g⌉) as two MatMuls with constant matrices, so it works for any
 * size; a map smaller than the smallest grid uses one grid of its own size; `attention: false` (the
 * ablation "γ frozen at 0") builds the block without the attention branch — the same function as
 * γ ≡ 0, without computing an output that is multiplied by 0.
 */
import type { Parameter, Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import type { Random } from "../../util/random.js";
import { constantInit } from "../init.js";
import { Layer, type LayerOptions } from "../layer.js";
import { BatchNorm2d, Conv2d, ConvTranspose2d } from "../layers.js";
import { scaledDotProductAttention } from "./attention.js";

export type ResampleMode = "down" | "same" | "up";

export const MSGSA_GRIDS = [4, 8, 16] as const;

/** PyTorch's adaptive-average-pooling matrix [out, in] along one axis. */
export function adaptivePoolMatrix(inSize: number, outSize: number): number[] {
  const m = new Array<number>(outSize * inSize).fill(0);
  for (let o = 0; o < outSize; o++) {
    const start = Math.floor((o * inSize) / outSize);
    const end = Math.ceil(((o + 1) * inSize) / outSize);
    for (let i = start; i < end; i++) m[o * inSize + i] = 1 / (end - start);
  }
  return m;
}

/** Adaptive average pooling of an NCHW tensor to [N, C, gh, gw] (PyTorch's bins), as two MatMuls. */
export function adaptiveAvgPool2d(x: Tensor, size: readonly [number, number]): Tensor {
  const [h, w] = [x.shape[2], x.shape[3]];
  const [gh, gw] = size;
  const rows = T.constant(adaptivePoolMatrix(h, gh), [gh, h]);
  const columns = adaptivePoolMatrix(w, gw);
  const columnsT = T.constant(
    Array.from({ length: w * gw }, (_, i) => columns[(i % gw) * w + Math.floor(i / gw)]),
    [w, gw],
  );
  return T.matMul(rows, T.matMul(x, columnsT));
}

export interface MsgsaOptions extends LayerOptions {
  in: number;
  out: number;
  mode: ResampleMode;
  /** Pooling grids of the keys and values (default 4, 8, 16). */
  grids?: readonly number[];
  /** false: the plain resampling block (γ frozen at 0, no attention branch). Default true. */
  attention?: boolean;
}

export interface MsgsaResult {
  /** Z = Y + γ·O, [B, C_out, H', W']. */
  output: Tensor;
  /** The resampled Y. */
  resampled: Tensor;
  /** Attention weights [B, H'·W', tokens] (absent without attention). */
  weights?: Tensor;
}

export class Msgsa extends Layer {
  readonly resample: Conv2d | ConvTranspose2d;
  readonly norm: BatchNorm2d;
  readonly query: Conv2d | undefined;
  readonly key: Conv2d | undefined;
  readonly value: Conv2d | undefined;
  readonly gamma: Parameter | undefined;
  readonly keyChannels: number;

  constructor(
    rng: Random,
    readonly options: MsgsaOptions,
  ) {
    super(options.name);
    const { in: cin, out, mode } = options;
    this.resample = this.child(
      "resample",
      mode === "up"
        ? new ConvTranspose2d(rng, { in: cin, out, kernel: 4, stride: 2, padding: 1, bias: false })
        : new Conv2d(rng, {
            in: cin,
            out,
            kernel: 3,
            stride: mode === "down" ? 2 : 1,
            padding: 1,
            bias: false,
          }),
    );
    this.norm = this.child("bn", new BatchNorm2d(out));
    this.keyChannels = Math.max(8, Math.floor(out / 8));
    if (options.attention ?? true) {
      const projection = (channels: number) => new Conv2d(rng, { in: out, out: channels, kernel: 1 });
      this.query = this.child("query", projection(this.keyChannels));
      this.key = this.child("key", projection(this.keyChannels));
      this.value = this.child("value", projection(out));
      this.gamma = this.parameter("gamma", [1], constantInit([1], 0));
    }
  }

  /** The grids used for an H'×W' map. */
  gridsFor(h: number, w: number): number[] {
    const side = Math.min(h, w);
    const grids = (this.options.grids ?? MSGSA_GRIDS).filter((g) => g <= side);
    return grids.length > 0 ? grids : [side];
  }

  forward(x: Tensor): Tensor {
    return this.run(x).output;
  }

  run(x: Tensor): MsgsaResult {
    const resampled = this.scoped(() => T.leakyRelu(this.norm.forward(this.resample.forward(x)), 0.2));
    if (!this.query || !this.key || !this.value || !this.gamma) return { output: resampled, resampled };
    const [query, key, value, gamma] = [this.query, this.key, this.value, this.gamma];
    const [b, c, h, w] = resampled.shape;
    const pooled = this.scoped(() =>
      T.concat(
        this.gridsFor(h, w).map((g) => T.reshape(adaptiveAvgPool2d(resampled, [g, g]), [b, c, g * g])),
        2,
      ),
    );
    const tokens = pooled.shape[2];
    const asTokens = (t: Tensor) => T.reshape(t, [b, c, tokens, 1]);
    const q = T.transpose(T.reshape(query.forward(resampled), [b, this.keyChannels, h * w]), [0, 2, 1]);
    const k = T.transpose(T.reshape(key.forward(asTokens(pooled)), [b, this.keyChannels, tokens]), [0, 2, 1]);
    const v = T.transpose(T.reshape(value.forward(asTokens(pooled)), [b, c, tokens]), [0, 2, 1]);
    return this.scoped(() => {
      const attended = scaledDotProductAttention(q, k, v);
      const o = T.reshape(T.transpose(attended.output, [0, 2, 1]), [b, c, h, w]);
      return { output: T.add(resampled, T.mul(o, this.use(gamma))), resampled, weights: attended.weights };
    });
  }
}
