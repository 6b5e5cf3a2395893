/** Option parsers shared by CLI verbs; invalid values become one-line `OptionError`s (exit 1). */
import { OptionError } from "../errors.js";

export function integerOption(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new OptionError(`${name} must be an integer, got "${value}"`);
    return n;
  };
}
