/**
 * Initial parameter values with PyTorch's defaults (methods.md §1.1), drawn from a seeded `Random` so
 * a model is reproducible from its seed.
 *
 * - Conv / Linear: weight ~ U(−1/√fan_in, 1/√fan_in) (kaiming_uniform with a = √5) and bias with the
 *   same bound; fan_in = weight.shape[1]·k·k, which for a transposed convolution (weight
 *   [in, out/groups, k, k]) is out/groups·k·k, as PyTorch computes it.
 * - Xavier uniform: U(−b, b), b = gain·√(6 / (fan_in + fan_out)) (multi-head attention in-projection).
 * - Normal N(mean, std) and constants.
 */
import type { Random } from "../util/random.js";

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, d) => a * d, 1);
}

/** PyTorch's fan_in and fan_out of a weight: dims 1 and 0 times the receptive field (dims 2...). */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`fans: a weight needs rank >= 2, got [${shape.join(", ")}]`);
  const receptive = sizeOf(shape.slice(2));
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** Values ~ U(low, high). */
export function uniform(rng: Random, shape: readonly number[], low: number, high: number): Float32Array {
  const out = new Float32Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = rng.range(low, high);
  return out;
}

/** Values ~ N(mean, std²). */
export function normal(rng: Random, shape: readonly number[], std: number, mean = 0): Float32Array {
  const out = new Float32Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = mean + std * rng.normal();
  return out;
}

/** Every value equal to `value`. */
export function constantInit(shape: readonly number[], value: number): Float32Array {
  return new Float32Array(sizeOf(shape)).fill(value);
}

/** PyTorch's default Conv/Linear weight: U(±1/√fan_in) with fan_in = shape[1]·receptive field. */
export function defaultWeight(rng: Random, shape: readonly number[]): Float32Array {
  const bound = 1 / Math.sqrt(fans(shape).fanIn);
  return uniform(rng, shape, -bound, bound);
}

/** PyTorch's default Conv/Linear bias for a weight of shape `weightShape`: U(±1/√fan_in). */
export function defaultBias(rng: Random, size: number, weightShape: readonly number[]): Float32Array {
  const bound = 1 / Math.sqrt(fans(weightShape).fanIn);
  return uniform(rng, [size], -bound, bound);
}

/** Xavier (Glorot) uniform: U(±gain·√(6 / (fan_in + fan_out))). */
export function xavierUniform(rng: Random, shape: readonly number[], gain = 1): Float32Array {
  const { fanIn, fanOut } = fans(shape);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(rng, shape, -bound, bound);
}
