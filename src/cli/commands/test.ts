/** `anomalyscope test`: evaluate a model on a data set's test split; metrics, scores and an HTML report. */
import type { Command } from "commander";
import { testModel } from "../../api/test.js";
import { integerOption, withDataOptions, withRunOptions } from "../options.js";

export function registerTest(program: Command): void {
  withRunOptions(
    withDataOptions(
      program
        .command("test")
        .description("Evaluate a model on the test split: metrics.json, scores.csv and report.html."),
    ),
  )
    .requiredOption("--model <dir>", "model directory written by train")
    .option("--batch-size <n>", "images per batch", integerOption("--batch-size"), 16)
    .requiredOption("--out <dir>", "report directory to write")
    .option(
      "--strict",
      "refuse anomalous test images without a mask (default: leave them out of pixel metrics)",
    )
    .addHelpText(
      "after",
      "\nExample:\n  $ anomalyscope test --model models/bottle --data data/mvtec --category bottle --out reports/bottle",
    )
    .action(async (o) => {
      const result = await testModel({
        model: o.model,
        data: o.data,
        layout: o.layout,
        category: o.category,
        batchSize: o.batchSize,
        out: o.out,
        overwrite: o.overwrite,
        maxMemory: o.maxMemory,
        strict: o.strict,
      });
      for (const warning of result.warnings) process.stderr.write(`anomalyscope: warning: ${warning}\n`);
      const m = result.metrics;
      const fmt = (v: number | null) => (v === null ? "n/a" : v.toFixed(4));
      process.stdout.write(
        `image AUROC ${fmt(m.image_auroc)}  pixel AUROC ${fmt(m.pixel_auroc)}  AUPRO ${fmt(m.aupro)}  ` +
          `F1 at threshold ${fmt(m.f1_at_threshold)}  (${m.n_normal} normal, ${m.n_anomalous} anomalous)\n` +
          `${result.reportFile}\n`,
      );
    });
}
