/**
 * PatchCore through the CLI and the library like every other method: one training pass (`--epochs 2`
 * refused with a one-line error), the bank stored in model.safetensors with its fitted size and
 * loaded back, and the whole CLI lifecycle (test with a report, predict, `info`, export to one ONNX
 * file holding backbone and bank that, run with plain onnxruntime-node, gives `predict`'s numbers).
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readSafetensors } from "../../src/engine/index.js";
import {
  type CliLifecycle,
  checkCliLifecycle,
  expectOneLineError,
  runCli,
  tempDir,
  tinyDataset,
} from "./helpers.js";

const SIZE = 32;
let data: string;
let lifecycle: CliLifecycle;

beforeAll(async () => {
  data = await tinyDataset();
  lifecycle = await checkCliLifecycle({
    method: "patchcore",
    data,
    trainArgs: ["--epochs", "1", "--image-size", String(SIZE)],
  });
}, 240_000);

describe("patchcore end to end", () => {
  it("refuses more than one epoch in one line", () => {
    const r = runCli([
      "train",
      "--data",
      data,
      "--method",
      "patchcore",
      "--epochs",
      "2",
      "--out",
      join(tempDir("patchcore-epochs"), "m"),
    ]);
    expectOneLineError(r, /--epochs 2: patchcore builds its memory bank in one pass .*use --epochs 1/);
  });

  it("stores the coreset bank (10 % of the training patches) in model.safetensors and the export", async () => {
    const manifest = JSON.parse(readFileSync(join(lifecycle.model, "anomalyscope.json"), "utf8"));
    const fit = manifest.training.history[0].losses;
    const { tensors } = await readSafetensors(join(lifecycle.model, "model.safetensors"));
    const bank = tensors["bank.features"];
    expect(fit.candidates).toBe(fit.images * (SIZE / 8) ** 2);
    expect(bank.shape).toEqual([Math.floor(0.1 * fit.candidates), 576]);
    expect(fit.bank_size).toBe(bank.shape[0]);
    expect(lifecycle.info).toMatch(/"backbone":"mobilenet_v1_0.75"/);
    expect(statSync(lifecycle.onnx).size).toBeGreaterThan(4 * bank.data.length);
  });
});
