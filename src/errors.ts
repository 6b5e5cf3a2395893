/**
 * Typed errors shared by every part of anomalyscope.
 *
 * `UserError` (and its subclasses) means the input was wrong: a file is missing, truncated or in an
 * unsupported format, an option is invalid. The CLI prints its message as one line and exits with 1.
 * Anything else that escapes is an internal error (exit 2).
 */

/** Base class of every error caused by the user's input. The message names the file or option. */
export class UserError extends Error {
  override name = "UserError";
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 1;
}

/**
 * The user stopped the work (Ctrl-C, or SIGTERM from a job scheduler); what was saved is named in the
 * message. Exit code 128 + the signal number: 130 for SIGINT, 143 for SIGTERM.
 */
export class InterruptedError extends UserError {
  override name = "InterruptedError";
  override readonly exitCode: number;
  constructor(
    message: string,
    readonly signal: "SIGINT" | "SIGTERM" = "SIGINT",
  ) {
    super(message);
    this.exitCode = signal === "SIGTERM" ? 143 : 130;
  }
}

/** A run would need more memory than the limit (free memory, or `--max-memory`). */
export class MemoryLimitError extends UserError {
  override name = "MemoryLimitError";
}

/** A file could not be read or decoded. `reason` is a short machine-readable cause. */
export class InputFileError extends UserError {
  override name = "InputFileError";
  constructor(
    readonly file: string,
    readonly reason:
      | "missing"
      | "empty"
      | "truncated"
      | "not-an-image"
      | "wrong-format"
      | "unsupported"
      | "wrong-dimensions"
      | "corrupt",
    detail?: string,
  ) {
    super(`${file}: ${reason.replace(/-/g, " ")}${detail ? ` (${detail})` : ""}`);
  }
}

/** An option or configuration value is invalid; the message names the option and what is allowed. */
export class OptionError extends UserError {
  override name = "OptionError";
}
