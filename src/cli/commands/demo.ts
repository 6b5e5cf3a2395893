/** `anomalyscope demo`: synthetic data -> train the AE baseline -> test -> report, in a few minutes. */
import type { Command } from "commander";
import { runDemo } from "../../api/demo.js";
import { integerOption } from "../options.js";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "Make a synthetic data set, train a baseline for a few minutes, test it, print the report's path.",
    )
    .option("--out <dir>", "working folder", "anomalyscope-demo")
    .option("--epochs <n>", "training epochs", integerOption("--epochs"))
    .option("--quiet", "no progress output")
    .addHelpText("after", "\nExample:\n  $ anomalyscope demo --out /tmp/demo")
    .action(async (o) => {
      const result = await runDemo({ out: o.out, epochs: o.epochs, quiet: o.quiet });
      const auroc = result.metrics.image_auroc;
      process.stdout.write(
        `image AUROC ${auroc === null ? "n/a" : auroc.toFixed(3)} on the synthetic test set\nreport: ${result.reportFile}\n`,
      );
    });
}
