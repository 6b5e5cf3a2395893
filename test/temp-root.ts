/**
 * Vitest global setup: every test process (and every CLI it spawns) writes its temporary files under
 * one folder made for the run, removed when the run ends. Without it a full run left ≈ 125 folders
 * (up to 230 MB each: trained models, data sets) in the system's temporary folder, about 3 GB per run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "anomalyscope-tests-"));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
