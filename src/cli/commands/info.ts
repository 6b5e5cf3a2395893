/** `anomalyscope info`: the engine (runtime, version, threads, optimisation level). */
import type { Command } from "commander";
import { engineInfo } from "../../engine/index.js";

export function registerInfo(program: Command): void {
  program
    .command("info")
    .description("Print the engine: runtime and version, threads, optimisation level.")
    .addHelpText("after", "\nExample:\n  $ anomalyscope info")
    .action(() => {
      const info = engineInfo();
      for (const [key, value] of Object.entries(info)) process.stdout.write(`${key}: ${value}\n`);
    });
}
