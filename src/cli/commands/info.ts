/** `anomalyscope info`: the engine (runtime, version, threads, optimisation level) and, with --model, a model. */
import type { Command } from "commander";
import { engineInfo } from "../../engine/index.js";
import { readManifest } from "../../model/directory.js";

export function registerInfo(program: Command): void {
  program
    .command("info")
    .description(
      "Print the engine (runtime, version, threads, optimisation level) and, with --model, the model.",
    )
    .option("--model <dir>", "also describe this model directory")
    .addHelpText("after", "\nExamples:\n  $ anomalyscope info\n  $ anomalyscope info --model models/bottle")
    .action(async (o: { model?: string }) => {
      const lines = Object.entries(engineInfo()).map(([key, value]) => `${key}: ${value}`);
      if (o.model) {
        const m = await readManifest(o.model);
        lines.push(
          `model: ${o.model}`,
          `  method: ${m.method} (format ${m.formatVersion}, anomalyscope ${m.packageVersion})`,
          `  input: ${m.channels} x ${m.imageSize} x ${m.imageSize}`,
          `  image threshold: ${m.calibration.imageThreshold} (${m.thresholds.image.provenance})`,
          `  pixel threshold: ${m.calibration.pixelThreshold} (${m.thresholds.pixel.provenance})`,
          `  selected epoch: ${m.selection ? `${m.selection.selectedEpoch} (--select ${m.selection.criterion}${m.selection.metric ? `: ${m.selection.metric}` : ""})` : "the last (trained before --select existed)"}`,
          `  config: ${JSON.stringify(m.config)}`,
        );
      }
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
