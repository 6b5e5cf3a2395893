/**
 * A quiet `npm ci` (issue 24): every locked package accepts the Node versions we claim (no EBADENGINE),
 * `.npmrc` holds only keys npm 11 knows (no "Unknown project config"), and every dependency install
 * script is stated explicitly: ignored for npm 10 and 11 (`ignore-scripts`) and denied by name in
 * `allowScripts` (npm 11's policy field), so onnxruntime-node never downloads its CUDA libraries.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./e2e/helpers.js";

interface LockEntry {
  dev?: boolean;
  engines?: { node?: string };
  hasInstallScript?: boolean;
}

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8")) as {
  packages: Record<string, LockEntry>;
};

type Version = [number, number, number];

function parseVersion(text: string): Version {
  const [a = 0, b = 0, c = 0] = text.replace(/^v/, "").split(".").map(Number);
  return [a, b, c];
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** The subset of npm ranges that package engines use: `*`, `>=x`, `^x`, and `||` of them. */
function satisfies(version: Version, range: string): boolean {
  return range.split("||").some((part) => {
    const p = part.trim().replace(/\s+/g, "");
    if (p === "*" || p === "") return true;
    if (p.startsWith(">=")) return compare(version, parseVersion(p.slice(2))) >= 0;
    if (p.startsWith("^")) {
      const base = parseVersion(p.slice(1));
      return version[0] === base[0] && compare(version, base) >= 0;
    }
    throw new Error(`range form not handled by this test: ${range}`);
  });
}

describe("a quiet first install", () => {
  it("every locked package accepts the running Node, runtime dependencies also the engines minimum", () => {
    const minimum = parseVersion(String(pkg.engines.node).replace(/^>=/, ""));
    const current = parseVersion(process.version);
    const problems: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = entry.engines?.node;
      if (!path || !range) continue;
      if (!satisfies(current, range)) problems.push(`${path} wants ${range}, running ${process.version}`);
      if (!entry.dev && !satisfies(minimum, range))
        problems.push(`${path} wants ${range}, engines allows ${minimum.join(".")}`);
    }
    expect(problems).toEqual([]);
  });

  it(".npmrc sets only keys npm knows, and ignores dependency install scripts", () => {
    const keys = readFileSync(join(repoRoot, ".npmrc"), "utf8")
      .split("\n")
      .filter((line) => line.trim() && !line.startsWith("#"))
      .map((line) => line.split("=")[0].trim());
    expect(keys).not.toContain("onnxruntime-node-install");
    expect(keys).toContain("ignore-scripts");
  });

  it("allowScripts states a decision for every package with an install script", () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([path]) => path.replace(/^.*node_modules\//, ""));
    expect(withScripts).toContain("onnxruntime-node");
    for (const name of withScripts) expect(pkg.allowScripts?.[name], name).toBe(false);
  });
});
