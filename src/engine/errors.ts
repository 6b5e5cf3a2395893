/**
 * Typed errors of the engine. Every message names the op (or ONNX node), the shapes involved and the
 * layer scope that was active when the op was called, so a wrong model is found from one line.
 */
import { UserError } from "../errors.js";

/** An op was called with inputs of incompatible shapes or types (raised while tracing). */
export class ShapeError extends UserError {
  override name = "ShapeError";
  constructor(
    readonly op: string,
    readonly scope: string,
    readonly shapes: ReadonlyArray<readonly number[]>,
    detail: string,
  ) {
    super(
      `${op}${scope ? ` in ${scope}` : ""}: ${detail} (input shapes ${shapes.map((s) => `[${s.join(", ")}]`).join(", ")})`,
    );
  }
}

/** ONNX Runtime rejected or failed to run a compiled graph; names the node and op when ORT does. */
export class EngineError extends Error {
  override name = "EngineError";
}

/** A loss, gradient or output that must be finite was NaN or infinite. */
export class NonFiniteError extends Error {
  override name = "NonFiniteError";
  constructor(
    readonly output: string,
    detail = "",
    /** The parameter whose gradient was not finite (when it was a gradient). */
    readonly parameter?: string,
  ) {
    super(`${output} is not finite${detail ? ` ${detail}` : ""}`);
  }
}
