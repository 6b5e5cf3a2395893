/** Option parsers shared by CLI verbs; invalid values become one-line `OptionError`s (exit 1). */
import { type Command, Option } from "commander";
import { LAYOUTS } from "../data/index.js";
import { OptionError } from "../errors.js";
import { parseMemorySize } from "../methods/memory.js";

export function integerOption(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new OptionError(`${name} must be an integer, got "${value}"`);
    return n;
  };
}

export function nonNegativeIntegerOption(name: string): (value: string) => number {
  return (value: string) => {
    if (!/^\+?\d+$/.test(value.trim()))
      throw new OptionError(`${name} must be a non-negative integer, got "${value}"`);
    return Number(value);
  };
}

/** `--max-memory <size>` and `--overwrite`, shared by the verbs that write an output folder and run a model. */
export function withRunOptions(command: Command): Command {
  return command
    .option("--overwrite", "replace the content of a non-empty --out")
    .option(
      "--max-memory <size>",
      "refuse to run when the memory estimate exceeds this (e.g. 8G; default: free memory)",
      (value: string) => parseMemorySize(value),
    );
}

/** `--data`, `--layout` and `--category`, shared by the verbs that read a data set. */
export function withDataOptions(command: Command): Command {
  return command
    .requiredOption("--data <path>", "data set root (layout detected automatically)")
    .addOption(new Option("--layout <name>", "force a layout").choices(LAYOUTS.map((l) => l.name)))
    .option("--category <name>", "category of a multi-category MVTec-style root");
}
