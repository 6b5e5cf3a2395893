/**
 * Faults and limits of the CLI (issue 24), on a tiny synthetic set: no silent overwrite of `--out`, an
 * `--out` that is a file, a lock against two trainings on one folder, SIGTERM handled like Ctrl-C,
 * orphan temporary files cleaned, `--resume` that compares every setting, the memory guard and seeds.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  cliMain,
  ensureBuilt,
  expectOneLineError,
  repoRoot,
  runCli,
  tempDir,
  tinyDataset,
  tinyTrainArgs,
} from "./helpers.js";

let data: string;
let model: string;

beforeAll(async () => {
  data = await tinyDataset();
  model = join(tempDir("rel-model"), "ae");
  const r = runCli(["train", "--data", data, ...tinyTrainArgs, "--out", model]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
}, 180_000);

interface Running {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Start the CLI and wait until its stderr matches `until`. */
async function start(args: string[], until: RegExp): Promise<Running> {
  ensureBuilt();
  const child = spawn(process.execPath, [cliMain, ...args], { cwd: repoRoot });
  let stderr = "";
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (until.test(stderr)) resolve();
    });
    child.on("exit", () => reject(new Error(`exited before ${until}: ${stderr}`)));
  });
  return { child, stderr: () => stderr, exit };
}

/** AE training of the tiny set into `out` for `epochs` epochs, with progress lines on stderr. */
const trainArgs = (out: string, epochs: number, ...extra: string[]) => [
  "train",
  "--data",
  data,
  "--method",
  "ae",
  "--epochs",
  String(epochs),
  "--batch-size",
  "8",
  "--image-size",
  "32",
  "--out",
  out,
  ...extra,
];

describe("--out is never overwritten silently", () => {
  it("train refuses a trained model folder unless --overwrite is given", () => {
    const before = readFileSync(join(model, "model.safetensors"));
    const r = runCli(["train", "--data", data, ...tinyTrainArgs, "--out", model]);
    expectOneLineError(r, /--out .*not empty.*--overwrite/);
    expect(readFileSync(join(model, "model.safetensors")).equals(before)).toBe(true);

    const copy = join(tempDir("rel-overwrite"), "ae");
    cpSync(model, copy, { recursive: true });
    // An --overwrite run that is refused (here by the memory limit) leaves the earlier model in place.
    const refused = runCli([
      "train",
      "--data",
      data,
      ...tinyTrainArgs,
      "--out",
      copy,
      "--overwrite",
      "--max-memory",
      "1M",
    ]);
    expectOneLineError(refused, /--max-memory/);
    expect(readFileSync(join(copy, "model.safetensors")).equals(before)).toBe(true);
    const again = runCli([
      "train",
      "--data",
      data,
      ...tinyTrainArgs,
      "--seed",
      "5",
      "--out",
      copy,
      "--overwrite",
    ]);
    expect(again.stderr).toBe("");
    expect(again.status).toBe(0);
    expect(JSON.parse(readFileSync(join(copy, "anomalyscope.json"), "utf8")).training.seed).toBe(5);
  }, 60_000);

  it("test and predict refuse a non-empty report folder unless --overwrite is given", () => {
    const out = tempDir("rel-report");
    writeFileSync(join(out, "notes.txt"), "mine");
    const test = runCli(["test", "--model", model, "--data", data, "--out", out]);
    expectOneLineError(test, /--out .*not empty.*--overwrite/);
    const predict = runCli(["predict", "--model", model, "--out", out, join(data, "test/good")]);
    expectOneLineError(predict, /--out .*not empty.*--overwrite/);
    expect(readdirSync(out)).toEqual(["notes.txt"]);
    expect(runCli(["test", "--model", model, "--data", data, "--out", out, "--overwrite"]).status).toBe(0);
    expect(existsSync(join(out, "metrics.json"))).toBe(true);
  }, 60_000);

  it("an --out that is a file is a one-line error for train, test and predict", () => {
    const file = join(tempDir("rel-file"), "taken");
    writeFileSync(file, "x");
    expectOneLineError(
      runCli(["train", "--data", data, ...tinyTrainArgs, "--out", file]),
      /taken.*not a folder/,
    );
    expectOneLineError(
      runCli(["test", "--model", model, "--data", data, "--out", file]),
      /taken.*not a folder/,
    );
    expectOneLineError(
      runCli(["predict", "--model", model, "--out", file, join(data, "test/good")]),
      /taken.*not a folder/,
    );
    expect(readFileSync(file, "utf8")).toBe("x");
  });

  it("a second train on the same --out is refused by the lock file, even with --overwrite", async () => {
    const out = join(tempDir("rel-lock"), "m");
    const first = await start(trainArgs(out, 30), /epoch 1\/30 done/);
    try {
      const second = runCli(["train", "--data", data, ...tinyTrainArgs, "--out", out, "--overwrite"]);
      expectOneLineError(second, /another anomalyscope process \(pid \d+\)/);
    } finally {
      first.child.kill("SIGKILL");
      await first.exit;
    }
    // A lock left by a killed process is stale and taken over.
    const resumed = runCli(trainArgs(out, 2, "--resume", "--quiet"));
    expect(resumed.stderr).toBe("");
    expect(resumed.status).toBe(0);
  }, 120_000);
});

describe("signals and checkpoints", () => {
  it("SIGTERM keeps the checkpoint and exits 143 with the resume hint; orphan temp files are cleaned on resume", async () => {
    const out = join(tempDir("rel-term"), "m");
    const run = await start(trainArgs(out, 30), /epoch 1\/30 done/);
    run.child.kill("SIGTERM");
    expect(await run.exit).toBe(143);
    expect(run.stderr()).toMatch(/--resume/);
    expect(existsSync(join(out, "checkpoint.safetensors"))).toBe(true);

    const orphan = join(out, ".checkpoint.safetensors.0badc0de.tmp");
    writeFileSync(orphan, Buffer.alloc(1000));
    const resumed = runCli(trainArgs(out, 2, "--resume", "--quiet"));
    expect(resumed.status).toBe(0);
    expect(existsSync(orphan)).toBe(false);
  }, 240_000);

  it("orphan temp files are removed when a run starts, and do not count as content", () => {
    const out = join(tempDir("rel-orphan"), "m");
    mkdirSync(out);
    const orphan = join(out, ".model.safetensors.12345678.tmp");
    writeFileSync(orphan, Buffer.alloc(1000));
    const r = runCli(["train", "--data", data, ...tinyTrainArgs, "--epochs", "1", "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(existsSync(orphan)).toBe(false);
    expect(readdirSync(out).filter((f) => f.endsWith(".tmp") || f.endsWith(".lock"))).toEqual([]);
  }, 60_000);
});

describe("--resume compares the run's settings", () => {
  it("refuses another image size, batch size, config or data set and lists the differences", async () => {
    const changed = [
      "train",
      "--data",
      data,
      "--method",
      "ae",
      "--epochs",
      "2",
      "--batch-size",
      "4",
      "--image-size",
      "64",
      "--out",
      model,
      "--resume",
      "--quiet",
    ];
    const r = runCli(changed);
    expectOneLineError(r, /--resume:.*--image-size 64 \(checkpoint 32\).*--batch-size 4 \(checkpoint 8\)/);

    const config = join(tempDir("rel-config"), "c.json");
    writeFileSync(config, JSON.stringify({ loss: "ssim" }));
    const withConfig = runCli([
      "train",
      "--data",
      data,
      ...tinyTrainArgs,
      "--config",
      config,
      "--out",
      model,
      "--resume",
    ]);
    expectOneLineError(withConfig, /--resume:.*config/);

    const otherData = await tinyDataset();
    rmSync(join(otherData, "train/good/000.png"));
    const withData = runCli(["train", "--data", otherData, ...tinyTrainArgs, "--out", model, "--resume"]);
    expectOneLineError(withData, /--resume:.*training files/);
  }, 60_000);
});

describe("limits", () => {
  it("--image-size 100000 is refused before compiling, with the estimate", () => {
    const started = Date.now();
    const r = runCli([
      "train",
      "--data",
      data,
      ...tinyTrainArgs,
      "--image-size",
      "100000",
      "--out",
      join(tempDir("rel-huge"), "m"),
    ]);
    expectOneLineError(r, /needs about [\d.]+ [GTP]B of memory.*--max-memory/);
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);

  it("--max-memory lowers the limit for train, test and predict", () => {
    const out = join(tempDir("rel-maxmem"), "m");
    expectOneLineError(
      runCli(["train", "--data", data, ...tinyTrainArgs, "--max-memory", "1M", "--out", out]),
      /needs about .* more than the limit 1\.0 MB \(--max-memory\)/,
    );
    expect(existsSync(out)).toBe(false);
    expectOneLineError(
      runCli([
        "test",
        "--model",
        model,
        "--data",
        data,
        "--max-memory",
        "1M",
        "--out",
        join(tempDir("rel-m"), "r"),
      ]),
      /needs about .*--max-memory/,
    );
    expectOneLineError(
      runCli([
        "predict",
        "--model",
        model,
        "--max-memory",
        "1M",
        "--out",
        join(tempDir("rel-m"), "p"),
        join(data, "test/good"),
      ]),
      /needs about .*--max-memory/,
    );
    expectOneLineError(
      runCli(["train", "--data", data, ...tinyTrainArgs, "--max-memory", "lots", "--out", out]),
      /--max-memory/,
    );
  }, 60_000);

  it("--seed must be a non-negative integer", () => {
    const out = join(tempDir("rel-seed"), "m");
    expectOneLineError(
      runCli(["train", "--data", data, ...tinyTrainArgs, "--seed", "-1", "--out", out]),
      /--seed/,
    );
    expect(existsSync(out)).toBe(false);
  });
});
