/** Public surface of the engine (filled in by the engine issue). */

import { availableParallelism } from "node:os";
import ort from "onnxruntime-node";

export function engineInfo(): Record<string, string | number> {
  return {
    runtime: "onnxruntime-node (CPU execution provider)",
    version: ort.env.versions.node ?? "unknown",
    threads: availableParallelism(),
  };
}
