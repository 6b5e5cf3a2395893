/**
 * The memory a training or scoring run needs, estimated before anything is compiled, for any method,
 * and the guard that refuses a run above a limit (the machine's free memory unless `--max-memory`
 * says otherwise) with the estimate in a one-line error.
 *
 * How: the method's inference graph is traced (symbolically: shapes only, nothing is allocated or
 * compiled) with a throw-away instance, and `graphMemory` counts its values, peak live values, constants
 * and largest im2col buffer; the parameters are counted on the instance. Up to 512 px the trace is made
 * at the run's size. Above, creating even a throw-away instance may be what exhausts memory (a method's
 * parameters may grow with the input area), so the graph is traced at the two largest sizes ≤ 512 that
 * the method accepts (the smaller at most half the larger) and every count is extrapolated linearly in
 * the area (side²): convolutional activations, im2col buffers and area-sized parameters all grow
 * linearly in it, and fixed-size parameters stay constant. Choice: tracing the inference graph rather
 * than the training step keeps this generic (the training step is built inside each method); training
 * is then bounded as
 *   batch · 2 · (all forward values)        the values kept for the backward pass and their gradients
 *   + 5 · parameter bytes                   value, gradient and the binding's copy of it, two Adam moments
 *   + 2 · largest im2col buffer             forward and backward unfolding
 *   + the weight gradients' im2col          batch · largest im2col, at most one 64 MB chunk
 *   + 3 · batch of images                   the prefetched batches,
 * and scoring as batch · (peak live values) + 2 · parameter bytes + im2col + 3 batches of images and
 * masks. Constants count once. It is an estimate (ONNX Runtime reuses buffers, so training usually needs
 * less), meant to catch runs that cannot fit, like `--image-size 100000`, before they are killed.
 */
import { freemem, totalmem } from "node:os";
import * as T from "../engine/index.js";
import { bind, graphMemory, ModuleGroup, trace, WEIGHT_GRADIENT_IM2COL_BYTES } from "../engine/index.js";
import { MemoryLimitError, OptionError } from "../errors.js";
import { Random } from "../util/random.js";
import type { MethodDefinition } from "./contract.js";

export interface MemoryNeeds {
  imageSize: number;
  channels: number;
  batchSize: number;
  /** Training (forward values kept, gradients, optimiser) or scoring. */
  training: boolean;
  /** Largest side traced directly (default 512); larger sides are extrapolated. */
  directTraceLimit?: number;
}

export interface MemoryEstimate {
  bytes: number;
  activations: number;
  weights: number;
  im2col: number;
  data: number;
  /** Sizes the graph was traced at (one: exact size; two: extrapolated in the area). */
  tracedAt: number[];
}

/** Largest side traced directly. */
const DIRECT_TRACE_LIMIT = 512;

interface Counts {
  values: number;
  peakLive: number;
  constants: number;
  im2col: number;
  parameters: number;
}

function countAt(method: MethodDefinition, config: object, size: number, channels: number): Counts {
  const instance = method.create(config, { imageSize: size, channels, random: new Random(0) });
  const group = new ModuleGroup(instance.modules);
  group.eval();
  const { graph, result } = trace(() => {
    bind(group);
    const outputs = instance.buildInference(T.input("images", [1, channels, size, size]));
    return outputs.imageScore ? [outputs.map, outputs.imageScore] : [outputs.map];
  });
  void instance.dispose();
  const memory = graphMemory(graph, result);
  const parameters = group.namedState().reduce((sum, [, p]) => sum + 4 * p.size, 0);
  return {
    values: memory.valueBytes,
    peakLive: memory.peakLiveBytes,
    constants: memory.constantBytes,
    im2col: memory.im2colBytes,
    parameters,
  };
}

/** The two largest accepted sizes ≤ `limit`, the smaller at most half the larger. */
function traceSizes(method: MethodDefinition, config: object, limit: number): [number, number] | undefined {
  const accepted = (s: number) => method.checkImageSize(config, s) === undefined;
  let large = limit;
  while (large >= 2 && !accepted(large)) large--;
  let small = Math.floor(large / 2);
  while (small >= 1 && !accepted(small)) small--;
  return small >= 1 ? [small, large] : undefined;
}

function counts(method: MethodDefinition, config: object, size: number, channels: number, limit: number) {
  const sizes = size > limit ? traceSizes(method, config, limit) : undefined;
  if (!sizes) return { counts: countAt(method, config, size, channels), tracedAt: [size] };
  const [a, b] = sizes.map((s) => countAt(method, config, s, channels));
  const t = (size * size - sizes[0] ** 2) / (sizes[1] ** 2 - sizes[0] ** 2);
  const at = (key: keyof Counts) => Math.max(a[key], a[key] + (b[key] - a[key]) * t);
  return {
    counts: {
      values: at("values"),
      peakLive: at("peakLive"),
      constants: at("constants"),
      im2col: at("im2col"),
      parameters: at("parameters"),
    },
    tracedAt: sizes,
  };
}

export function estimateMemory(method: MethodDefinition, config: object, needs: MemoryNeeds): MemoryEstimate {
  const limit = needs.directTraceLimit ?? DIRECT_TRACE_LIMIT;
  const { counts: c, tracedAt } = counts(method, config, needs.imageSize, needs.channels, limit);
  const image = 4 * needs.channels * needs.imageSize ** 2;
  const activations = needs.batchSize * (needs.training ? 2 * c.values : c.peakLive);
  const weights = (needs.training ? 5 : 2) * c.parameters + c.constants;
  const im2col = needs.training
    ? 2 * c.im2col + Math.min(WEIGHT_GRADIENT_IM2COL_BYTES, needs.batchSize * c.im2col)
    : c.im2col;
  const data = 3 * needs.batchSize * (needs.training ? image : image + image / needs.channels);
  return { bytes: activations + weights + im2col + data, activations, weights, im2col, data, tracedAt };
}

/** Memory available to this process: free memory, bounded by a cgroup limit when there is one. */
export function availableMemory(): number {
  const free = freemem();
  const constrained = process.constrainedMemory?.() ?? 0;
  if (constrained > 0 && constrained < totalmem())
    return Math.min(free, constrained - process.memoryUsage.rss());
  return free;
}

export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** `--max-memory`: bytes, or a number with k/M/G/T (powers of 1000) or Ki/Mi/Gi/Ti, B optional. */
export function parseMemorySize(text: string, option = "--max-memory"): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kKMGT]i?)?B?\s*$/.exec(text);
  const factors: Record<string, number> = { k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  if (!match) throw new OptionError(`${option} must be a size such as 4G, 512M or 2.5GB, got "${text}"`);
  const [, number, unit = ""] = match;
  const factor =
    unit === ""
      ? 1
      : unit.endsWith("i")
        ? 1024 ** ("KMGT".indexOf(unit[0].toUpperCase()) + 1)
        : factors[unit];
  const bytes = Number(number) * factor;
  if (!(bytes > 0)) throw new OptionError(`${option} must be positive, got "${text}"`);
  return bytes;
}

/**
 * Refuse a run whose estimate exceeds `limit` (default: `availableMemory()`). `subject` names what was
 * asked for (e.g. "--image-size 100000 --batch-size 8").
 */
export function checkMemory(
  method: MethodDefinition,
  config: object,
  needs: MemoryNeeds,
  subject: string,
  limit?: number,
): MemoryEstimate {
  const estimate = estimateMemory(method, config, needs);
  const bound = limit ?? availableMemory();
  if (estimate.bytes > bound) {
    const parts =
      `activations ${formatBytes(estimate.activations)}, weights${needs.training ? " and optimiser" : ""} ` +
      `${formatBytes(estimate.weights)}, im2col ${formatBytes(estimate.im2col)}, images ${formatBytes(estimate.data)}`;
    const where = limit === undefined ? "free memory; change it with --max-memory" : "--max-memory";
    throw new MemoryLimitError(
      `${subject}: ${method.name} ${needs.training ? "training" : "scoring"} needs about ${formatBytes(estimate.bytes)} ` +
        `of memory (${parts}), more than the limit ${formatBytes(bound)} (${where})`,
    );
  }
  return estimate;
}
