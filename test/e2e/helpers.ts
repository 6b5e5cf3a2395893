/**
 * Shared fixtures for end-to-end tests: the built CLI (dist/, made by `npm test` before vitest; built
 * here when missing), a tiny synthetic data set trained in seconds, and one model's whole CLI lifecycle.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import ort from "onnxruntime-node";
import { expect } from "vitest";
import { loadModel } from "../../src/index.js";
import "../../src/methods/index.js";
import { generateDataset } from "../../src/synth/index.js";
import { Random } from "../../src/util/random.js";

export const repoRoot = resolve(import.meta.dirname, "../..");
export const cliMain = join(repoRoot, "dist/cli/main.js");

export function ensureBuilt(): void {
  if (!existsSync(cliMain)) {
    const r = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: repoRoot, encoding: "utf8" });
    if (!existsSync(cliMain)) throw new Error(`build failed: ${r.stdout}${r.stderr}`);
  }
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { cwd?: string } = {}): CliResult {
  ensureBuilt();
  const r = spawnSync(process.execPath, [cliMain, ...args], {
    encoding: "utf8",
    cwd: options.cwd ?? repoRoot,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface BackgroundCli {
  matched: boolean;
  kill: () => void;
  interrupt: () => void;
  exit: Promise<number | null>;
}

/** Start the CLI in the background; resolves when `until` matches its stderr, or it exits. */
export function startCli(args: string[], until: RegExp): Promise<BackgroundCli> {
  ensureBuilt();
  const child = spawn(process.execPath, [cliMain, ...args], { cwd: repoRoot });
  const exit = new Promise<number | null>((resolveExit) => child.on("exit", (code) => resolveExit(code)));
  const controls = { kill: () => child.kill("SIGKILL"), interrupt: () => child.kill("SIGINT"), exit };
  return new Promise((resolveStart) => {
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (until.test(stderr)) resolveStart({ ...controls, matched: true });
    });
    child.on("exit", () => resolveStart({ ...controls, matched: false }));
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `anomalyscope-${prefix}-`));
}

/** A small industrial texture set (32 px) that trains in seconds. */
export async function tinyDataset(): Promise<string> {
  const out = join(tempDir("data"), "synth");
  await generateDataset({ out, kind: "industrial", nTrain: 48, nTest: 16, size: 32, seed: 3 });
  return out;
}

export const tinyTrainArgs = [
  "--method",
  "ae",
  "--epochs",
  "2",
  "--batch-size",
  "8",
  "--image-size",
  "32",
  "--quiet",
];

/** A CLI error as users should see it: one line on stderr matching `pattern`, exit 1, no stack trace. */
export function expectOneLineError(r: CliResult, pattern: RegExp): void {
  expect(r.stderr).not.toContain("internal error");
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.status).toBe(1);
}

export interface CliLifecycle {
  model: string;
  /** stdout of `info --model`. */
  info: string;
  /** The file `export` wrote. */
  onnx: string;
}

/**
 * One trained model through every CLI command a user runs, as each method's end-to-end test needs it:
 * `train` (no stderr), `test` (an image AUROC on stdout, metrics.json), `predict --format json` on
 * `test/good` (a finite score per row), `info` (names the method) and `export`, whose file run in plain
 * onnxruntime-node gives `predict`'s scores, labels and maps on two random images of the model's input shape
 * (to 1e-3 · max(1, |score|): with SQUID's `small` profile one random image's score moves by 2–4e-4
 * while the other is bit-identical, and it moves as much between ORT's own optimisation levels on the
 * same file — a near-tie in a non-smooth op such as the memory's hard shrinkage, not a different graph;
 * the tight per-method comparison of the exported graph is test/api/export.test.ts).
 */
export async function checkCliLifecycle(options: {
  method: string;
  data: string;
  /** Training arguments after `--data` and `--method` (epochs, batch size, image size, config …). */
  trainArgs: string[];
}): Promise<CliLifecycle> {
  const model = join(tempDir(`${options.method}-cli-model`), "m");
  const trained = runCli([
    "train",
    "--data",
    options.data,
    "--method",
    options.method,
    ...options.trainArgs,
    "--quiet",
    "--out",
    model,
  ]);
  expect(trained.stderr).toBe("");
  expect(trained.status).toBe(0);

  const report = tempDir(`${options.method}-cli-test`);
  const tested = runCli(["test", "--model", model, "--data", options.data, "--out", report]);
  expect(tested.status).toBe(0);
  expect(tested.stdout).toMatch(/image AUROC \d\.\d{4}/);
  expect(readFileSync(join(report, "metrics.json"), "utf8")).toMatch(/auroc/i);

  const predictions = tempDir(`${options.method}-cli-predict`);
  const predicted = runCli([
    "predict",
    "--model",
    model,
    "--out",
    predictions,
    "--format",
    "json",
    join(options.data, "test/good"),
  ]);
  expect(predicted.status).toBe(0);
  const rows = JSON.parse(readFileSync(join(predictions, "predictions.json"), "utf8"));
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) expect(Number.isFinite(row.score)).toBe(true);

  const info = runCli(["info", "--model", model]);
  expect(info.status).toBe(0);
  expect(info.stdout).toMatch(new RegExp(`method: ${options.method}\\b`));

  const onnx = join(tempDir(`${options.method}-onnx`), "model.onnx");
  expect(runCli(["export", "--model", model, "--out", onnx]).status).toBe(0);
  const loaded = await loadModel(model);
  const { channels, imageSize } = loaded.manifest;
  const random = new Random(9);
  const images = Float32Array.from({ length: 2 * channels * imageSize * imageSize }, () => random.uniform());
  const expected = await loaded.predictPreprocessed(images, 2);
  await loaded.close();
  const session = await ort.InferenceSession.create(onnx);
  const out = await session.run({
    input: new ort.Tensor("float32", images, [2, channels, imageSize, imageSize]),
  });
  await session.release();
  expected.forEach((p, i) => {
    expect(
      Math.abs((out.raw_score.data as Float32Array)[i] - p.score),
      `score ${p.score}`,
    ).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(p.score)));
    expect(Boolean((out.pred_label.data as Uint8Array)[i])).toBe(p.label);
    const pixels = imageSize * imageSize;
    const map = (out.anomaly_map.data as Float32Array).subarray(i * pixels, (i + 1) * pixels);
    let diff = 0;
    for (let k = 0; k < pixels; k++) diff = Math.max(diff, Math.abs(map[k] - p.anomalyMap[k]));
    expect(diff).toBeLessThanOrEqual(1e-4);
  });
  return { model, info: info.stdout, onnx };
}
