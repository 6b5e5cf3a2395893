/**
 * Summary of an ONNX Runtime profile (the JSON trace written with the `enableProfiling` session
 * option) of the benchmark's training step: time per op type, per role in the step (forward, the
 * input and weight gradients of Conv and ConvTranspose, batch norm and element-wise backward, Adam),
 * and how much of a step is spent outside ORT's kernels.
 *
 * Roles come from node names: layers scope their nodes by path (`encoder.3`, `decoder.0`), the
 * benchmark scopes its loss as `loss`, `compileStep` the optimiser's update as `optimizer`, and reverse-
 * mode differentiation names its nodes `grad(<scope of the forward node>)`.
 * Nodes that ORT fuses keep the first node's name (plus a suffix), which is good enough for roles.
 */
import { readFileSync } from "node:fs";

interface TraceEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; output_type_shape?: Array<Record<string, number[]>> };
}

export interface ProfileSummary {
  config: string;
  file: string;
  steps: number;
  /** Means per step over the timed steps, milliseconds (means, so that they add up). */
  step_ms: number;
  run_ms: number;
  model_run_ms: number;
  kernel_ms: number;
  by_op: Array<{ op: string; ms: number; share: number; count: number }>;
  by_role: Array<{ role: string; ms: number; share: number }>;
  top_nodes: Array<{ node: string; op: string; ms: number; output: number[] | undefined }>;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function outputShape(e: TraceEvent): number[] | undefined {
  const first = e.args?.output_type_shape?.[0];
  return first ? Object.values(first)[0] : undefined;
}

/**
 * Which part of the reference autoencoder's training step a node belongs to. Weight gradients
 * (rules.ts `matMulWeightGrad`): a one-hot Conv builds the im2col (kh·kw = 16 output channels, which no
 * layer of the reference AE has); ORT runs it in its NCHWc layout (it has constant weights), renaming
 * the node `<tensor>_nchwc` and adding unscoped ReorderOutput nodes; then a (Fused)MatMul.
 */
function roleOf(node: string, op: string, shape: number[] | undefined): string {
  if (op === "ReorderOutput" || op === "ReorderInput" || node.endsWith("_nchwc"))
    return "weight grad im2col (one-hot Conv)";
  const backward = node.includes("grad(");
  if (node.startsWith("optimizer")) return "Adam update";
  if (node.startsWith("loss")) return "loss";
  if (!backward) {
    if (op === "Conv" || op.startsWith("FusedConv")) return "forward Conv";
    if (op === "ConvTranspose") return "forward ConvTranspose";
    return "forward BN/activations";
  }
  if (op === "MatMul" || op === "FusedMatMul") return "weight grad (MatMul)";
  if (op === "Conv" || op.startsWith("FusedConv"))
    return shape?.[1] === 16 ? "weight grad im2col (one-hot Conv)" : "ConvT input grad (Conv)";
  if (op === "ConvTranspose") return "Conv input grad (ConvTranspose)";
  if (op === "Transpose") return "backward Transpose (weight-grad layout)";
  return "backward BN/activations/reductions";
}

/**
 * Per-step means of a profile over its last `stepTimes.length` runs; `role` classifies nodes (default:
 * the reference autoencoder's roles).
 */
export function summariseProfile(
  file: string,
  config: string,
  stepTimes: number[],
  runTimes: number[],
  role: (node: string, op: string, shape: number[] | undefined) => string = roleOf,
): ProfileSummary {
  const events = JSON.parse(readFileSync(file, "utf8")) as TraceEvent[];
  const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run");
  // Keep only the timed runs (the last stepTimes.length model_run events) and their kernels.
  const timed = runs.slice(-stepTimes.length);
  const steps = timed.length;
  const firstTimed = timed[0] as TraceEvent & { ts: number };
  const kernels = events.filter(
    (e) =>
      e.cat === "Node" &&
      e.name.endsWith("_kernel_time") &&
      (e as TraceEvent & { ts: number }).ts >= firstTimed.ts,
  );
  const byOp = new Map<string, { ms: number; count: number }>();
  const byRole = new Map<string, number>();
  const byNode = new Map<string, { op: string; ms: number; output: number[] | undefined }>();
  let kernelTotal = 0;
  for (const e of kernels) {
    const op = e.args?.op_name ?? "?";
    const node = e.name.slice(0, -"_kernel_time".length);
    const ms = e.dur / 1000 / steps;
    kernelTotal += ms;
    const o = byOp.get(op) ?? { ms: 0, count: 0 };
    o.ms += ms;
    o.count += 1 / steps;
    byOp.set(op, o);
    const shape = outputShape(e);
    const nodeRole = role(node, op, shape);
    byRole.set(nodeRole, (byRole.get(nodeRole) ?? 0) + ms);
    const n = byNode.get(node) ?? { op, ms: 0, output: shape };
    n.ms += ms;
    byNode.set(node, n);
  }
  const share = (ms: number) => (ms / kernelTotal) * 100;
  return {
    config,
    file,
    steps,
    step_ms: mean(stepTimes),
    run_ms: mean(runTimes),
    model_run_ms: mean(timed.map((e) => e.dur / 1000)),
    kernel_ms: kernelTotal,
    by_op: [...byOp]
      .map(([op, v]) => ({ op, ms: v.ms, share: share(v.ms), count: Math.round(v.count) }))
      .sort((a, b) => b.ms - a.ms),
    by_role: [...byRole].map(([role, ms]) => ({ role, ms, share: share(ms) })).sort((a, b) => b.ms - a.ms),
    top_nodes: [...byNode]
      .map(([node, v]) => ({ node, ...v }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 25),
  };
}
