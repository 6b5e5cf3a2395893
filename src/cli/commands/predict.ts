/** `anomalyscope predict`: score images with a trained model; a table and an overlay PNG per image. */
import { type Command, Option } from "commander";
import { predictFiles } from "../../api/predict.js";
import { integerOption, withRunOptions } from "../options.js";

export function registerPredict(program: Command): void {
  withRunOptions(program.command("predict"))
    .description("Score images (files, folders or globs) with a trained model.")
    .argument("<paths...>", "image files, folders or quoted globs")
    .requiredOption("--model <dir>", "model directory written by train")
    .requiredOption("--out <dir>", "folder for predictions.csv|json and overlay PNGs")
    .addOption(new Option("--format <format>", "table format").choices(["csv", "json"]).default("csv"))
    .option("--batch-size <n>", "images per batch", integerOption("--batch-size"), 8)
    .addHelpText(
      "after",
      '\nExamples:\n  $ anomalyscope predict --model models/bottle --out out/ new_parts/\n  $ anomalyscope predict --model models/xray --out out/ --format json "scans/**/*.png"',
    )
    .action(async (paths: string[], o) => {
      const { rows, resultsFile } = await predictFiles({
        model: o.model,
        inputs: paths,
        out: o.out,
        format: o.format,
        batchSize: o.batchSize,
        overwrite: o.overwrite,
        maxMemory: o.maxMemory,
      });
      const anomalous = rows.filter((r) => r.label === "anomalous").length;
      process.stdout.write(`${rows.length} images, ${anomalous} anomalous\n${resultsFile}\n`);
    });
}
