/**
 * Hash-addressing memory of MAMA Net (methods.md §5.2; the paper's abstract names the module, the
 * design is ours): a trainable memory M [N, C] (U(−1/√C, 1/√C), as the §1.2 memory) read by
 *
 * - codes: h(v) = sign(v·R) ∈ {−1, +1}^K, R [C, K] a fixed Gaussian projection drawn from the model
 *   seed and stored with the model (a buffer); random-hyperplane LSH approximates angular similarity.
 *   Normalising v first (the spec's Rᵀv/‖v‖) does not change a sign, so it is skipped. The memory's
 *   codes are recomputed from the current M at every forward (N·C·K multiply-adds).
 * - address: Hamming distances H_i = (K − h(z)·h(m_i))/2 (a MatMul of ±1 codes); the k candidates are
 *   the rows with the smallest H_i, ties broken by the larger cosine, then by the lower row index (ONNX
 *   TopK keeps the lower index first among equal keys). Both are folded into one TopK key
 *   cos(z, m_i) − 4·H_i: cosines lie in [−1, 1], so a Hamming step (4) always dominates. The selection
 *   is computed on detached inputs (no gradient through it), as the spec asks.
 * - read: w = softmax over the k candidates of cos(z, m_i)/τ, ẑ = Σ w_i m_i; the candidate rows are
 *   gathered, so gradients reach the selected rows of M (and z through the weights) and no other row.
 * - `hash: "learned"` [ours]: h(v) = sign(v·Wᵀ) with W [K, C] trainable through a straight-through tanh
 *   (forward ±1, backward tanh'). A selection has no gradient, so for W to learn anything the codes must
 *   enter the read: in this mode the candidate logits are (cos(z, m_i) + h(z)·h(m_i)/K)/τ, i.e. the
 *   cosine plus the code agreement 1 − 2H_i/K. The random mode keeps the spec's cosine-only logits.
 *
 * Everything traces to standard ONNX ops (MatMul, Sign, TopK, Gather, Softmax), so an exported model
 * runs in plain ONNX Runtime.
 */
import type { Parameter, Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import type { Random } from "../../util/random.js";
import { defaultWeight, normal, uniform } from "../init.js";
import { Layer, type LayerOptions } from "../layer.js";

const EPS = 1e-12;
/** Weight of one Hamming step in the selection key; exceeds the range of a cosine (2). */
const HAMMING_STEP = 4;

export type HashKind = "random" | "learned";

/** ±1 codes of the rows of v [..., C]: sign(v·projection), projection [C, K]. */
export function hashCodes(v: Tensor, projection: Tensor): Tensor {
  return T.sign(T.matMul(v, projection));
}

/** Hamming distances [T, N] between ±1 codes a [T, K] and b [N, K]: (K − a·bᵀ)/2. */
export function hammingDistances(a: Tensor, b: Tensor): Tensor {
  const bits = a.shape[a.rank - 1];
  return T.mul(T.sub(bits, T.matMul(a, T.transpose(b, [1, 0]))), 0.5);
}

/** Cosine similarities [T, N] of rows z [T, C] and m [N, C]. */
function cosineMatrix(z: Tensor, m: Tensor): Tensor {
  const zn = T.sqrt(T.sum(T.square(z), -1, true));
  const mn = T.reshape(T.sqrt(T.sum(T.square(m), -1)), [1, m.shape[0]]);
  return T.div(T.matMul(z, T.transpose(m, [1, 0])), T.add(T.mul(zn, mn), EPS));
}

export interface HashMemoryOptions extends LayerOptions {
  /** Number of memory rows N (500). */
  slots: number;
  /** Row width C. */
  channels: number;
  /** Code bits K (32). */
  bits: number;
  /** Candidates k read per query (8). */
  candidates: number;
  /** Softmax temperature τ (0.1). */
  temperature: number;
  hash: HashKind;
}

export interface HashReadResult {
  /** ẑ [T, C]. */
  output: Tensor;
  /** Selected rows [T, k] (int64), best first. */
  indices: Tensor;
  /** Read weights over the candidates [T, k]. */
  weights: Tensor;
  /** Hamming distances of every query to every row [T, N]. */
  hamming: Tensor;
}

export class HashMemory extends Layer {
  readonly weight: Parameter;
  /** Fixed projection R [C, K] (random hash) or trainable W [K, C] (learned hash). */
  readonly projection: Parameter;

  constructor(
    rng: Random,
    readonly options: HashMemoryOptions,
  ) {
    super(options.name);
    const { slots, channels, bits, candidates } = options;
    if (!Number.isInteger(candidates) || candidates < 1 || candidates > slots)
      throw new Error(`hash memory: candidates must be an integer in [1, ${slots}], got ${candidates}`);
    const bound = 1 / Math.sqrt(channels);
    this.weight = this.parameter("weight", [slots, channels], uniform(rng, [slots, channels], -bound, bound));
    this.projection =
      options.hash === "random"
        ? this.buffer("projection", [channels, bits], normal(rng, [channels, bits], 1))
        : this.parameter("projection", [bits, channels], defaultWeight(rng, [bits, channels]));
  }

  /** ±1 codes of rows v [..., C] (straight-through tanh gradient for the learned hash). */
  codes(v: Tensor): Tensor {
    if (this.options.hash === "random") return hashCodes(v, this.use(this.projection));
    const projected = T.matMul(v, T.transpose(this.use(this.projection), [1, 0]));
    return T.straightThrough(T.sign(projected), T.tanh(projected));
  }

  /** Read queries z [T, C]. */
  forward(z: Tensor): HashReadResult {
    return this.scoped(() => {
      const { candidates: k, temperature, bits, channels } = this.options;
      const memory = this.use(this.weight);
      const queryCodes = this.codes(z);
      const memoryCodes = this.codes(memory);
      const hamming = hammingDistances(T.stopGradient(queryCodes), T.stopGradient(memoryCodes));
      const key = T.sub(
        cosineMatrix(T.stopGradient(z), T.stopGradient(memory)),
        T.mul(hamming, HAMMING_STEP),
      );
      const indices = T.topK(key, k, -1).indices;
      const rows = T.gather(memory, indices, 0);
      const queries = T.reshape(z, [z.shape[0], 1, channels]);
      const dots = T.sum(T.mul(queries, rows), -1);
      const norms = T.mul(T.sqrt(T.sum(T.square(queries), -1)), T.sqrt(T.sum(T.square(rows), -1)));
      let similarity = T.div(dots, T.add(norms, EPS));
      if (this.options.hash === "learned") {
        const agreement = T.sum(
          T.mul(T.reshape(queryCodes, [z.shape[0], 1, bits]), T.gather(memoryCodes, indices, 0)),
          -1,
        );
        similarity = T.add(similarity, T.div(agreement, bits));
      }
      const weights = T.softmax(T.div(similarity, temperature), -1);
      const output = T.reshape(T.matMul(T.reshape(weights, [z.shape[0], 1, k]), rows), [
        z.shape[0],
        channels,
      ]);
      return { output, indices, weights, hamming };
    });
  }
}
