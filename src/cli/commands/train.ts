/** `anomalyscope train`: train a method on the normal images of a data set and write a model directory. */
import { type Command, Option } from "commander";
import { methodNames } from "../../methods/index.js";
import { pastedDefectKinds } from "../../synth/paste.js";
import { selectionCriteria, thresholdRules } from "../../train/selection.js";
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
    .addOption(
      new Option(
        "--select <criterion>",
        "which epoch becomes the model: last; synthetic (best image AUROC on the normal validation images plus copies with pasted synthetic defects); labelled (best image AUROC on the validation split's own anomalies)",
      )
        .choices(selectionCriteria)
        .default("last"),
    )
    .option(
      "--synthetic-defects <kinds>",
      `comma-separated defect kinds pasted into the synthetic validation set (${pastedDefectKinds.join(", ")}; default all)`,
    )
    .addOption(
      new Option(
        "--threshold-rule <rule>",
        "percentile: 99th percentile of normal validation scores (F1-max when validation has real anomalies); synthetic-f1: F1-max on the validation set with synthetic anomalies",
      )
        .choices(thresholdRules)
        .default("percentile"),
    )
    .option(
      "--early-stopping <epochs>",
      "stop when the criterion stops improving for this many epochs (the --select metric, or with --select last the normal validation score)",
      integerOption("--early-stopping"),
    )
    .requiredOption("--out <dir>", "model directory to write")
    .option("--resume", "continue from the checkpoint in --out")
    .option("--quiet", "no progress output")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  $ anomalyscope train --data data/mvtec --category bottle --method ae --out models/bottle\n" +
        "  $ anomalyscope train --data data/chest_xray --method squid --epochs 40 --out models/squid --resume\n" +
        "  $ anomalyscope train --data data/tire --method ae --select synthetic --threshold-rule synthetic-f1 --out models/tire",
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
        select: o.select,
        syntheticDefects: o.syntheticDefects,
        thresholdRule: o.thresholdRule,
      });
      for (const warning of result.warnings) process.stderr.write(`anomalyscope: warning: ${warning}\n`);
      process.stdout.write(`${result.modelDir}\n`);
    });
}
