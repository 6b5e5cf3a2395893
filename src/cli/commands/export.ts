/** `anomalyscope export`: write a model directory as one self-contained ONNX inference graph. */
import type { Command } from "commander";
import { exportModel } from "../../api/export.js";

export function registerExport(program: Command): void {
  program
    .command("export")
    .description(
      "Export a model as one ONNX graph (input N×C×H×W in [0,1]; outputs pred_score, pred_label, anomaly_map, pred_mask).",
    )
    .requiredOption("--model <dir>", "model directory written by train")
    .requiredOption("--out <file>", "ONNX file to write")
    .addHelpText("after", "\nExample:\n  $ anomalyscope export --model models/bottle --out bottle.onnx")
    .action(async (o) => {
      const result = await exportModel(o.model, o.out);
      process.stdout.write(
        `${result.path} (${(result.bytes / 1e6).toFixed(1)} MB, input ${result.inputShape})\n`,
      );
    });
}
