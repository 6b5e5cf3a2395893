/**
 * Trainer behaviour from the outside: a diverging run stops with the epoch and step named and exit 1;
 * Ctrl-C (SIGINT) stops after the current batch with exit 130 and keeps the last checkpoint; `info
 * --model` describes a model; MemAE trains and tests end to end; corrupt model files are named.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readSafetensors } from "../../src/engine/safetensors.js";
import { runCli, startCli, tempDir, tinyDataset } from "./helpers.js";

let data: string;

beforeAll(async () => {
  data = await tinyDataset();
});

const base = (out: string, epochs = "2") => [
  "train",
  "--data",
  data,
  "--method",
  "ae",
  "--epochs",
  epochs,
  "--batch-size",
  "8",
  "--image-size",
  "32",
  "--out",
  out,
];

describe("trainer", () => {
  it("a diverging loss stops with the epoch and step named, exit 1", () => {
    const config = join(tempDir("cfg"), "diverge.json");
    writeFileSync(config, JSON.stringify({ lr: 1e38 }));
    const r = runCli([...base(join(tempDir("nan"), "m")), "--config", config, "--quiet"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/training diverged at epoch \d+, step \d+: loss .* is not finite/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("SIGINT stops with exit 130 and keeps the checkpoint of the last completed epoch", async () => {
    const out = join(tempDir("sigint"), "m");
    const run = await startCli(base(out, "50"), /epoch 1\/50 done/);
    expect(run.matched).toBe(true);
    run.interrupt();
    expect(await run.exit).toBe(130);
    const checkpoint = await readSafetensors(join(out, "checkpoint.safetensors"));
    const state = JSON.parse(checkpoint.metadata.trainer);
    expect(state.completedEpochs).toBeGreaterThanOrEqual(1);
    expect(state.completedEpochs).toBeLessThan(50);
    expect(existsSync(join(out, "model.safetensors"))).toBe(false);
  }, 120_000);

  it("MemAE trains, tests and is described by info --model", () => {
    const model = join(tempDir("memae"), "m");
    const config = join(tempDir("cfg"), "memae.json");
    writeFileSync(config, JSON.stringify({ memorySize: 50 }));
    const train = runCli([
      "train",
      "--data",
      data,
      "--method",
      "memae",
      "--config",
      config,
      "--epochs",
      "1",
      "--batch-size",
      "8",
      "--image-size",
      "32",
      "--out",
      model,
      "--quiet",
    ]);
    expect(train.stderr).toBe("");
    expect(train.status).toBe(0);
    const test = runCli(["test", "--model", model, "--data", data, "--out", tempDir("memae-report")]);
    expect(test.status).toBe(0);
    expect(test.stdout).toMatch(/image AUROC \d\.\d{4}/);
    const info = runCli(["info", "--model", model]);
    expect(info.stdout).toMatch(/method: memae/);
    expect(info.stdout).toMatch(/"memorySize":50/);
  }, 120_000);

  it("a corrupt weights file is named", () => {
    const model = join(tempDir("corrupt-model"), "m");
    expect(runCli([...base(model, "1"), "--quiet"]).status).toBe(0);
    writeFileSync(join(model, "model.safetensors"), Buffer.from([1, 2, 3]));
    const r = runCli(["test", "--model", model, "--data", data, "--out", tempDir("x")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/model\.safetensors/);
  }, 60_000);
});
