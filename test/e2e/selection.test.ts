/**
 * `train --select synthetic` from the built CLI for every registered method (tiny configs): the model
 * records the criterion, the per-epoch validation curve and the selected epoch, the synthetic F1-max
 * threshold rule reaches `test`'s metrics.json and `info --model`; invalid values are one-line errors.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { getMethod, methodNames } from "../../src/methods/index.js";
import { generateDataset } from "../../src/synth/index.js";
import { runCli, tempDir } from "./helpers.js";

/** The smallest config of each method that trains in seconds at 64 px. */
const tinyConfigs: Record<string, object> = {
  ae: {},
  memae: { memorySize: 50 },
  squid: { profile: "small", statsImages: 8 },
  mamanet: { memorySize: 50, sinkhornIterations: 2 },
  daad: { width: 4, memorySize: 8, reducedChannels: 2 },
  multiad: {},
  patchcore: {},
};

/** Two epochs, or fewer for a method that trains in fewer passes (PatchCore: one). */
const epochsOf = (method: string) => Math.min(2, getMethod(method).maxEpochs?.epochs ?? 2);

let data: string;

beforeAll(async () => {
  data = join(tempDir("select-data"), "synth");
  await generateDataset({ out: data, kind: "medical", nTrain: 24, nTest: 8, size: 64, seed: 2 });
});

const trainArgs = (method: string, out: string, config: string) => [
  "train",
  "--data",
  data,
  "--method",
  method,
  "--config",
  config,
  "--epochs",
  String(epochsOf(method)),
  "--batch-size",
  "4",
  "--image-size",
  "64",
  "--select",
  "synthetic",
  "--synthetic-defects",
  "lesion,stain",
  "--threshold-rule",
  "synthetic-f1",
  "--out",
  out,
  "--quiet",
];

describe("train --select synthetic (CLI)", () => {
  it("every registered method has a tiny config here", () => {
    expect(Object.keys(tinyConfigs).sort()).toEqual([...methodNames()].sort());
  });

  for (const method of Object.keys(tinyConfigs)) {
    it(`${method}: selects an epoch on the synthetic validation set and tests with the synthetic F1-max threshold (or the recorded fallback)`, () => {
      const dir = tempDir(`select-${method}`);
      const config = join(dir, "config.json");
      writeFileSync(config, JSON.stringify(tinyConfigs[method]));
      const model = join(dir, "model");
      const trained = runCli(trainArgs(method, model, config));
      expect(trained.stderr).toBe("");
      expect(trained.status).toBe(0);
      const manifest = JSON.parse(readFileSync(join(model, "anomalyscope.json"), "utf8"));
      expect(manifest.selection.criterion).toBe("synthetic");
      expect(manifest.selection.set.defects).toEqual(["lesion", "stain"]);
      expect(manifest.selection.curve).toHaveLength(epochsOf(method));
      const best = Math.max(...manifest.selection.curve.map((p: { imageAuroc: number }) => p.imageAuroc));
      expect(manifest.selection.curve[manifest.selection.selectedEpoch - 1].imageAuroc).toBe(best);
      // F1-max on the synthetic set, unless that would flag every validation image (a tiny model can
      // score every synthetic defect below some normal): then the percentile rule, and the record says so.
      const rule = manifest.thresholds.image.rule;
      if (rule !== "f1-max-synthetic-validation") {
        expect(rule).toBe("percentile-normal-validation");
        expect(manifest.thresholds.image.provenance).toMatch(/F1-max on validation would flag every image/);
      }

      const report = join(dir, "test");
      const tested = runCli(["test", "--model", model, "--data", data, "--out", report]);
      expect(tested.status).toBe(0);
      const metrics = JSON.parse(readFileSync(join(report, "metrics.json"), "utf8"));
      expect(metrics.threshold_rule).toBe(rule);
      expect(metrics.selection).toEqual({
        criterion: "synthetic",
        selected_epoch: manifest.selection.selectedEpoch,
      });
      expect(readFileSync(join(report, "report.html"), "utf8")).toContain("<h2>Model selection</h2>");
      const info = runCli(["info", "--model", model]);
      expect(info.stdout).toContain(
        `selected epoch: ${manifest.selection.selectedEpoch} (--select synthetic`,
      );
    }, 180_000);
  }

  it("rejects an unknown criterion or defect kind with a reason naming the option, exit 1", () => {
    const config = join(tempDir("select-bad"), "c.json");
    writeFileSync(config, "{}");
    const bad = runCli([...trainArgs("ae", join(tempDir("bad"), "m"), config), "--select", "best"]);
    expect(bad.status).toBe(1);
    // commander's own choice check: the reason on the first line, the usual help hint after it.
    expect(bad.stderr.split("\n")[0]).toBe(
      "error: option '--select <criterion>' argument 'best' is invalid. Allowed choices are last, synthetic, labelled.",
    );
    const args = trainArgs("ae", join(tempDir("bad2"), "m"), config);
    args[args.indexOf("lesion,stain")] = "lesion,crack";
    const kind = runCli(args);
    expect(kind.status).toBe(1);
    expect(kind.stderr.trim()).toMatch(
      /^.*--synthetic-defects: unknown defect kind "crack" \(allowed: scratch, hole, stain, texture_blend, lesion\)$/,
    );
  });
});
