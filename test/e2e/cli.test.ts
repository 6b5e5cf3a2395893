/**
 * Every CLI verb on tiny synthetic data: train -> test -> predict -> export -> info, the one-line
 * errors with exit code 1 for bad input, and `--help` with examples.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli, tempDir, tinyDataset, tinyTrainArgs } from "./helpers.js";

let data: string;
let model: string;

beforeAll(async () => {
  data = await tinyDataset();
  model = join(tempDir("model"), "ae");
  const r = runCli(["train", "--data", data, ...tinyTrainArgs, "--out", model]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
}, 180_000);

describe("cli verbs", () => {
  it("train writes a model directory with weights, manifest and threshold provenance", () => {
    expect(existsSync(join(model, "model.safetensors"))).toBe(true);
    const manifest = JSON.parse(readFileSync(join(model, "anomalyscope.json"), "utf8"));
    expect(manifest.method).toBe("ae");
    expect(manifest.formatVersion).toBe(1);
    expect(manifest.imageSize).toBe(32);
    expect(manifest.training.epochs).toBe(2);
    expect(manifest.thresholds.image.provenance).toMatch(/percentile of \d+ normal validation images/);
    expect(manifest.calibration.imageThreshold).toBeGreaterThan(manifest.calibration.imageMin);
  });

  it("test writes metrics.json, scores.csv and a report", () => {
    const out = tempDir("report");
    const r = runCli(["test", "--model", model, "--data", data, "--out", out]);
    expect(r.status).toBe(0);
    const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8"));
    for (const key of [
      "image_auroc",
      "pixel_auroc",
      "aupro",
      "f1_max",
      "threshold",
      "n_normal",
      "n_anomalous",
    ]) {
      expect(metrics).toHaveProperty(key);
    }
    expect(metrics.n_normal + metrics.n_anomalous).toBe(16);
    expect(metrics.image_auroc).toBeGreaterThanOrEqual(0);
    expect(metrics.pixel_auroc).toBeGreaterThan(0);
    const rows = readFileSync(join(out, "scores.csv"), "utf8").trim().split("\n");
    expect(rows).toHaveLength(17);
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain("<html");
  });

  it("predict scores files, folders and globs, with one overlay per image", () => {
    const out = tempDir("predict");
    const r = runCli([
      "predict",
      "--model",
      model,
      "--out",
      out,
      "--format",
      "json",
      join(data, "test/good"),
      `${data}/test/scratch/*.png`,
    ]);
    expect(r.status).toBe(0);
    const rows = JSON.parse(readFileSync(join(out, "predictions.json"), "utf8"));
    expect(rows.length).toBeGreaterThan(8);
    for (const row of rows) {
      expect(row.normalized_score).toBeGreaterThanOrEqual(0);
      expect(row.normalized_score).toBeLessThanOrEqual(1);
      expect(["normal", "anomalous"]).toContain(row.label);
      expect(existsSync(row.overlay)).toBe(true);
    }
  });

  it("export writes an ONNX file and info prints the engine", () => {
    const file = join(tempDir("export"), "model.onnx");
    expect(runCli(["export", "--model", model, "--out", file]).status).toBe(0);
    expect(readFileSync(file).length).toBeGreaterThan(100_000);
    const info = runCli(["info"]);
    expect(info.status).toBe(0);
    expect(info.stdout).toMatch(/ONNX Runtime/);
    expect(info.stdout).toMatch(/threads: \d+/);
  });

  it("every verb has --help with an example", () => {
    for (const verb of ["train", "test", "predict", "export", "demo", "synth", "info"]) {
      const r = runCli([verb, "--help"]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/Example/);
    }
  });
});

describe("bad input gives exit 1 and one line naming the file or option", () => {
  const oneLine = (r: { status: number | null; stderr: string }, pattern: RegExp) => {
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
  };

  it("missing data directory", () => {
    oneLine(
      runCli(["train", "--data", "/nonexistent/data", "--method", "ae", "--out", tempDir("x")]),
      /\/nonexistent\/data/,
    );
  });

  it("empty folder", () => {
    oneLine(
      runCli(["train", "--data", tempDir("empty"), "--method", "ae", "--out", tempDir("x")]),
      /empty|no .*layout|expected/i,
    );
  });

  it("corrupt image", () => {
    const out = tempDir("corrupt");
    const bad = join(out, "broken.png");
    writeFileSync(bad, Buffer.from("\x89PNG\r\n\x1a\nthis is not a png"));
    oneLine(runCli(["predict", "--model", model, "--out", join(out, "o"), bad]), /broken\.png/);
  });

  it("unknown method", () => {
    oneLine(
      runCli(["train", "--data", data, "--method", "nope", "--out", tempDir("x")]),
      /unknown method "nope"/,
    );
  });

  it("unknown config key", () => {
    const config = join(tempDir("cfg"), "config.json");
    writeFileSync(config, JSON.stringify({ los: "mse" }));
    oneLine(
      runCli(["train", "--data", data, ...tinyTrainArgs, "--config", config, "--out", tempDir("x")]),
      /unknown key "los".*allowed: loss/,
    );
  });

  it("model directory of a newer format", () => {
    const dir = tempDir("newer");
    mkdirSync(dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(model, "anomalyscope.json"), "utf8"));
    writeFileSync(join(dir, "anomalyscope.json"), JSON.stringify({ ...manifest, formatVersion: 99 }));
    oneLine(
      runCli(["test", "--model", dir, "--data", data, "--out", tempDir("x")]),
      /format version 99 is newer/,
    );
  });

  it("a non-integer option", () => {
    oneLine(
      runCli(["train", "--data", data, "--method", "ae", "--epochs", "two", "--out", tempDir("x")]),
      /--epochs/,
    );
  });
});
