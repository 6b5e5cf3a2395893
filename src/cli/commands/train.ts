/** `anomalyscope train`: train a method on the normal images of a data set and write a model directory. */
import type { Command } from "commander";
import { methodNames } from "../../methods/index.js";
import { train } from "../../train/trainer.js";
import { integerOption, nonNegativeIntegerOption, withDataOptions, withRunOptions } from "../options.js";

export function registerTrain(program: Command): void {
  withRunOptions(
    withDataOptions(
      program.command("train").description("Train a detector on normal images and write a model directory."),
    ),
  )
    .requiredOption("--method <name>", `method (${methodNames().join(", ")})`)
    .option("--config <file>", "method config as JSON (unknown keys are rejected)")
    .option("--epochs <n>", "epochs (default: the method's)", integerOption("--epochs"))
    .option("--batch-size <n>", "batch size (default: the method's)", integerOption("--batch-size"))
    .option(
      "--image-size <px>",
      "input side in pixels (default: the method's)",
      integerOption("--image-size"),
    )
    .option("--seed <n>", "random seed (0 to 4294967295)", nonNegativeIntegerOption("--seed"), 0)
    .option(
      "--early-stopping <epochs>",
      "stop when the normal validation score stops improving",
      integerOption("--early-stopping"),
    )
    .requiredOption("--out <dir>", "model directory to write")
    .option("--resume", "continue from the checkpoint in --out")
    .option("--quiet", "no progress output")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  $ anomalyscope train --data data/mvtec --category bottle --method ae --out models/bottle\n" +
        "  $ anomalyscope train --data data/chest_xray --method squid --epochs 40 --out models/squid --resume",
    )
    .action(async (o) => {
      const result = await train({
        data: o.data,
        layout: o.layout,
        category: o.category,
        method: o.method,
        config: o.config,
        epochs: o.epochs,
        batchSize: o.batchSize,
        imageSize: o.imageSize,
        seed: o.seed,
        out: o.out,
        resume: o.resume,
        overwrite: o.overwrite,
        maxMemory: o.maxMemory,
        quiet: o.quiet,
        earlyStoppingPatience: o.earlyStopping,
      });
      for (const warning of result.warnings) process.stderr.write(`anomalyscope: warning: ${warning}\n`);
      process.stdout.write(`${result.modelDir}\n`);
    });
}
