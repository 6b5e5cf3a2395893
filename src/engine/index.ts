/**
 * The engine: symbolic tensors traced into a graph IR, reverse-mode differentiation from one rule
 * table, compilation to ONNX and execution on ONNX Runtime's CPU kernels, plus a float64 reference
 * executor. This folder is the only place in the project that knows about ONNX or ONNX Runtime.
 */
export * from "./api.js";
export { grad } from "./autodiff/grad.js";
export { EngineError, NonFiniteError, ShapeError } from "./errors.js";
export { graphFlops } from "./flops.js";
export { type DType, Graph, Tensor, trace, withScope } from "./ir.js";
export { type GraphMemory, graphMemory, WEIGHT_GRADIENT_IM2COL_BYTES } from "./memory.js";
export { Binding, bind, Module, ModuleGroup, Parameter } from "./module.js";
export type { ParameterSlot, StepOptimizer } from "./optimizer.js";
export { evaluateReference } from "./reference.js";
export {
  allocate,
  CompiledGraph,
  defaultRuntimeOptions,
  type HostArray,
  mallocRetainsMemory,
  RETAINING_MALLOC_ENV,
  type RuntimeOptions,
  runtimeVersion,
  trainingRuntimeDefaults,
} from "./runtime.js";
export * from "./safetensors.js";
export * from "./step.js";

import { defaultRuntimeOptions, runtimeVersion, trainingRuntimeDefaults } from "./runtime.js";

/** What `anomalyscope info` prints about the engine. */
export function engineInfo(): Record<string, string | number> {
  const training = trainingRuntimeDefaults();
  return {
    runtime: "ONNX Runtime (onnxruntime-node), CPU execution provider",
    version: runtimeVersion(),
    threads: defaultRuntimeOptions.threads,
    "graph optimisation level": `${defaultRuntimeOptions.optimizationLevel} (${training.optimizationLevel} for training steps)`,
    "memory arena": `${defaultRuntimeOptions.memoryArena ? "on" : "off"}${
      training.memoryArena === false
        ? " (off for training steps: malloc keeps freed memory)"
        : ' (also for training steps; set the malloc variables of README "Training memory" to turn it off there)'
    }`,
    "memory pattern": `${defaultRuntimeOptions.memoryPattern ? "on" : "off"} (off for training steps)`,
    opset: 18,
  };
}
