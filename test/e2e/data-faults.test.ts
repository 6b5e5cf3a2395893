/**
 * Failed runs and data correctness through the CLI (issue 24), on a tiny synthetic set: a failed run
 * leaves no folder, a glob under a missing folder and a model naming an unknown method are one-line
 * errors naming the path, anomalous test images without a mask are left out of pixel metrics (or
 * refused with --strict), and a mask of another size is a warning naming it.
 */
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { generateDataset } from "../../src/synth/index.js";
import { expectOneLineError, runCli, tempDir, tinyDataset, tinyTrainArgs } from "./helpers.js";

let data: string;
let model: string;

beforeAll(async () => {
  data = await tinyDataset();
  model = join(tempDir("rel-model"), "ae");
  const r = runCli(["train", "--data", data, ...tinyTrainArgs, "--out", model]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
}, 180_000);

describe("failed runs and bad input", () => {
  it("a run that fails leaves no --out folder behind", async () => {
    const broken = await tinyDataset();
    writeFileSync(join(broken, "train/good/003.png"), "not a png");
    const out = join(tempDir("rel-failed"), "m");
    const r = runCli(["train", "--data", broken, ...tinyTrainArgs, "--out", out]);
    expectOneLineError(r, /003\.png/);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it("predict on a glob under a missing folder names the folder", () => {
    const r = runCli([
      "predict",
      "--model",
      model,
      "--out",
      join(tempDir("rel-glob"), "p"),
      "/no/such/folder/*.png",
    ]);
    expectOneLineError(r, /\/no\/such\/folder/);
  });

  it("a model directory naming an unknown method names its anomalyscope.json", () => {
    const copy = join(tempDir("rel-unknown"), "m");
    cpSync(model, copy, { recursive: true });
    const manifestPath = join(copy, "anomalyscope.json");
    writeFileSync(
      manifestPath,
      JSON.stringify({ ...JSON.parse(readFileSync(manifestPath, "utf8")), method: "nope" }),
    );
    const r = runCli(["test", "--model", copy, "--data", data, "--out", join(tempDir("rel-u"), "r")]);
    expectOneLineError(r, /anomalyscope\.json: unknown method "nope"/);
  });
});

describe("masks", () => {
  /** A copy of the data set with one anomalous test image's mask removed (`missing`) or the image removed. */
  function variant(kind: "missing-mask" | "no-image"): { root: string; image: string } {
    const root = join(tempDir(`rel-${kind}`), "synth");
    cpSync(data, root, { recursive: true });
    const defect = readdirSync(join(root, "ground_truth"))[0];
    const mask = readdirSync(join(root, "ground_truth", defect))[0];
    const image = join(root, "test", defect, mask.replace("_mask", ""));
    if (kind === "missing-mask") rmSync(join(root, "ground_truth", defect, mask));
    else {
      rmSync(image);
      rmSync(join(root, "ground_truth", defect, mask));
    }
    return { root, image };
  }

  it("an anomalous image without a mask is excluded from pixel metrics and counted; --strict refuses it", () => {
    const missing = variant("missing-mask");
    const out = join(tempDir("rel-mask"), "r");
    const r = runCli(["test", "--model", model, "--data", missing.root, "--out", out]);
    expect(r.status).toBe(0);
    const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8"));
    expect(metrics.pixel_metrics_excluded_images).toBe(1);
    expect(readFileSync(join(out, "report.html"), "utf8")).toMatch(/1 anomalous test image has no mask/);

    // The pixel metrics equal those of the data set without that image at all.
    const without = variant("no-image");
    const out2 = join(tempDir("rel-mask2"), "r");
    expect(runCli(["test", "--model", model, "--data", without.root, "--out", out2]).status).toBe(0);
    const reference = JSON.parse(readFileSync(join(out2, "metrics.json"), "utf8"));
    expect(metrics.pixel_auroc).toBeCloseTo(reference.pixel_auroc, 6);
    expect(metrics.aupro).toBeCloseTo(reference.aupro, 6);
    expect(metrics.n_anomalous).toBe(reference.n_anomalous + 1);

    const strict = runCli([
      "test",
      "--model",
      model,
      "--data",
      missing.root,
      "--out",
      join(tempDir("rel-s"), "r"),
      "--strict",
    ]);
    expectOneLineError(
      strict,
      new RegExp(`${missing.image.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}.*no mask`),
    );
  }, 60_000);

  it("a mask of another size than its image is a warning naming the mask", async () => {
    const root = join(tempDir("rel-masksize"), "synth");
    cpSync(data, root, { recursive: true });
    const defect = readdirSync(join(root, "ground_truth"))[0];
    const maskName = readdirSync(join(root, "ground_truth", defect))[0];
    const maskPath = join(root, "ground_truth", defect, maskName);
    const small = await sharp(maskPath).resize(16, 16, { kernel: "nearest" }).png().toBuffer();
    writeFileSync(maskPath, small);
    expect(statSync(maskPath).size).toBeGreaterThan(0);
    const r = runCli(["test", "--model", model, "--data", root, "--out", join(tempDir("rel-ms"), "r")]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(
        `warning: ${maskPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: mask is 16x16, its image 32x32`,
      ),
    );
  }, 60_000);

  it("train warns about a validation mask of another size (the pixel threshold reads it)", async () => {
    const root = join(tempDir("rel-bmad"), "synth");
    await generateDataset({
      out: root,
      kind: "industrial",
      layout: "bmad",
      nTrain: 24,
      nTest: 8,
      size: 32,
      seed: 4,
    });
    const maskFolder = join(root, "valid/Ungood/anomaly_mask");
    const maskPath = join(maskFolder, readdirSync(maskFolder)[0]);
    writeFileSync(maskPath, await sharp(maskPath).resize(16, 16, { kernel: "nearest" }).png().toBuffer());
    const r = runCli([
      "train",
      "--data",
      root,
      ...tinyTrainArgs,
      "--epochs",
      "1",
      "--out",
      join(tempDir("rel-bm"), "m"),
    ]);
    expect(r.status).toBe(0);
    expect(r.stderr.trim()).toBe(
      `anomalyscope: warning: ${maskPath}: mask is 16x16, its image 32x32 (resized nearest-neighbour)`,
    );
  }, 60_000);
});
