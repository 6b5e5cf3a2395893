/**
 * Shared fixtures for end-to-end tests: the built CLI (dist/, made by `npm test` before vitest; built
 * here when missing) and a tiny synthetic data set trained in seconds.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect } from "vitest";
import { generateDataset } from "../../src/synth/index.js";

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
