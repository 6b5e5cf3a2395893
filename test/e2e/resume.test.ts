/**
 * Resumable training: a run SIGKILLed after its second epoch and continued with --resume ends with the
 * same weights as an uninterrupted run of the same seed (data order and every random draw are derived
 * from (seed, epoch, batch); the checkpoint holds weights, buffers and optimiser moments), for the
 * AE and for Multi-AD (two optimisers, a frozen teacher, dropout masks).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readSafetensors } from "../../src/engine/safetensors.js";
import { runCli, startCli, tempDir, tinyDataset } from "./helpers.js";

const args = (data: string, out: string, method: string) => [
  "train",
  "--data",
  data,
  "--method",
  method,
  "--epochs",
  "4",
  "--batch-size",
  "8",
  "--image-size",
  "32",
  "--seed",
  "11",
  "--out",
  out,
];

describe.each(["ae", "multiad"])("resume after SIGKILL (%s)", (method) => {
  it("finishes from the last checkpoint with the uninterrupted run's weights", async () => {
    const data = await tinyDataset();
    const straight = join(tempDir("straight"), "m");
    expect(runCli([...args(data, straight, method), "--quiet"]).status).toBe(0);

    const killed = join(tempDir("killed"), "m");
    const run = await startCli(args(data, killed, method), /epoch 2\/4 done/);
    expect(run.matched).toBe(true);
    run.kill();
    expect(await run.exit).toBeNull();
    const resumed = runCli([...args(data, killed, method), "--resume", "--quiet"]);
    expect(resumed.stderr).toBe("");
    expect(resumed.status).toBe(0);

    const a = await readSafetensors(join(straight, "model.safetensors"));
    const b = await readSafetensors(join(killed, "model.safetensors"));
    expect(Object.keys(b.tensors).sort()).toEqual(Object.keys(a.tensors).sort());
    let maxDiff = 0;
    for (const [name, t] of Object.entries(a.tensors)) {
      const u = b.tensors[name].data;
      for (let i = 0; i < t.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(t.data[i] - u[i]));
    }
    expect(maxDiff).toBe(0);
  }, 240_000);
});
