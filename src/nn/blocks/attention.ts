/**
 * Multi-head attention as PyTorch's nn.MultiheadAttention (methods.md §1.1), batch-first: in-projection
 * Q, K, V = X·Wᵀ + b from one [3d, d] weight (Xavier uniform) and bias (zeros), h heads of d/h,
 * softmax(QKᵀ/√(d/h))·V per head, heads concatenated, output projection (default Linear init, zero
 * bias). Parameter names follow PyTorch (in_proj_weight, in_proj_bias, out_proj.weight/bias). An
 * optional key padding mask (true = ignore that key) gives masked keys weight exactly 0.
 * `scaledDotProductAttention` is the per-head core, shared with other attention blocks (MSGSA).
 */

import type { Parameter, Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import type { Random } from "../../util/random.js";
import { constantInit, xavierUniform } from "../init.js";
import { Layer, type LayerOptions } from "../layer.js";
import { Linear } from "../layers.js";

/** Added to the logits of masked keys: exp of it underflows to exactly 0 without producing NaN. */
const MASKED_LOGIT = -1e30;

export interface AttentionResult {
  /** [B, Lq, d]. */
  output: Tensor;
  /** Attention weights averaged over heads, [B, Lq, Lk] (PyTorch's default). */
  weights: Tensor;
}

/**
 * softmax(q·kᵀ/√d)·v over the last two axes: q [..., Lq, d], k [..., Lk, d], v [..., Lk, dv] →
 * output [..., Lq, dv] and the weights [..., Lq, Lk] (each row sums to 1). `keyMask` (bool,
 * broadcastable to the weights, true = ignore that key) gives masked keys weight exactly 0.
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  keyMask?: Tensor,
): { output: Tensor; weights: Tensor } {
  const rank = k.rank;
  const kT = T.transpose(
    k,
    [...k.shape.keys()].map((i) => (i === rank - 2 ? rank - 1 : i === rank - 1 ? rank - 2 : i)),
  );
  let logits = T.div(T.matMul(q, kT), Math.sqrt(q.shape[q.rank - 1]));
  if (keyMask) logits = T.where(keyMask, MASKED_LOGIT, logits);
  const weights = T.softmax(logits, -1);
  return { output: T.matMul(weights, v), weights };
}

export interface MultiHeadAttentionOptions extends LayerOptions {
  embedDim: number;
  heads: number;
}

export class MultiHeadAttention extends Layer {
  readonly inProjWeight: Parameter;
  readonly inProjBias: Parameter;
  readonly outProj: Linear;
  readonly embedDim: number;
  readonly heads: number;

  constructor(rng: Random, options: MultiHeadAttentionOptions) {
    super(options.name);
    const { embedDim: d, heads } = options;
    if (d % heads !== 0)
      throw new Error(`MultiHeadAttention: embedDim ${d} is not divisible by ${heads} heads`);
    this.embedDim = d;
    this.heads = heads;
    this.inProjWeight = this.parameter("in_proj_weight", [3 * d, d], xavierUniform(rng, [3 * d, d]));
    this.inProjBias = this.parameter("in_proj_bias", [3 * d], constantInit([3 * d], 0));
    this.outProj = this.child("out_proj", new Linear(rng, { in: d, out: d }));
    this.outProj.bias!.assign(new Float32Array(this.outProj.bias!.size));
  }

  /**
   * query [B, Lq, d], key and value [B, Lk, d]; `keyPaddingMask` [B, Lk] (bool, true = ignore).
   */
  forward(query: Tensor, key: Tensor, value: Tensor, keyPaddingMask?: Tensor): AttentionResult {
    const attended = this.scoped(() => {
      const d = this.embedDim;
      const headDim = d / this.heads;
      const [wq, wk, wv] = T.split(this.use(this.inProjWeight), [d, d, d], 0);
      const [bq, bk, bv] = T.split(this.use(this.inProjBias), [d, d, d], 0);
      const toHeads = (x: Tensor, w: Tensor, b: Tensor) => {
        const projected = T.linear(x, w, b);
        const [batch, length] = projected.shape;
        return T.transpose(T.reshape(projected, [batch, length, this.heads, headDim]), [0, 2, 1, 3]);
      };
      const q = toHeads(query, wq, bq);
      const k = toHeads(key, wk, bk);
      const v = toHeads(value, wv, bv);
      const [batch, , length] = q.shape;
      const mask = keyPaddingMask && T.reshape(keyPaddingMask, [batch, 1, 1, keyPaddingMask.shape[1]]);
      const { output, weights: headWeights } = scaledDotProductAttention(q, k, v, mask);
      const merged = T.reshape(T.transpose(output, [0, 2, 1, 3]), [batch, length, d]);
      return { merged, weights: T.mean(headWeights, 1) };
    });
    return { output: this.outProj.forward(attended.merged), weights: attended.weights };
  }
}
