#!/usr/bin/env node
/**
 * The `anomalyscope` command line. Each verb lives in `src/cli/commands/<verb>.ts` and registers itself
 * through `register(program)`; this file only wires them and maps errors to exit codes
 * (0 success, 1 user error with a one-line reason, 2 internal error, 130 interrupted by Ctrl-C).
 */
import { Command, CommanderError } from "commander";
import { UserError } from "../errors.js";
import { packageVersion } from "../util/version.js";
import { commands } from "./commands/index.js";

export async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name("anomalyscope")
    .description("Unsupervised anomaly detection for medical and industrial images.")
    .version(packageVersion())
    .exitOverride()
    .showHelpAfterError("(run with --help for usage and examples)");
  for (const register of commands) register(program);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 1;
    }
    if (error instanceof UserError) {
      process.stderr.write(`anomalyscope: ${error.message.split("\n")[0]}\n`);
      return error.exitCode;
    }
    process.stderr.write(`anomalyscope: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    return 2;
  }
}

// A closed pipe (`anomalyscope ... | head`) ends the output, not the program with a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

const exitCode = await main(process.argv.slice(2));
process.exitCode = exitCode;
