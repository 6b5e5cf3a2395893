import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli as cli, cliMain as main } from "../e2e/helpers.js";

const root = await mkdtemp(join(tmpdir(), "anomalyscope-synth-cli-"));

afterAll(() => rm(root, { recursive: true, force: true }));

describe("anomalyscope synth", () => {
  it("writes a data set and exits 0", async () => {
    const out = join(root, "nuts");
    const result = cli([
      "synth",
      "--out",
      out,
      "--kind",
      "object",
      "--n-train",
      "3",
      "--n-test",
      "4",
      "--size",
      "64",
    ]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/wrote object data set/);
    expect(await readdir(join(out, "train", "good"))).toHaveLength(3);
    expect(existsSync(join(out, "synth.json"))).toBe(true);
  });

  it.each([
    ["--kind", "plasma"],
    ["--n-train", "ten"],
    ["--n-test", "3.5"],
    ["--size", "16"],
  ])("exits 1 with one line for %s %s", (flag, value) => {
    const result = cli(["synth", "--out", join(root, "bad"), flag, value]);
    expect(result.status).toBe(1);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(new RegExp(`^anomalyscope: ${flag}`));
    expect(existsSync(join(root, "bad"))).toBe(false);
  });

  it("documents itself with examples", () => {
    const help = execFileSync(process.execPath, [main, "synth", "--help"], { encoding: "utf8" });
    expect(help).toMatch(/Examples:\n {2}\$ anomalyscope synth --out/);
  });
});
