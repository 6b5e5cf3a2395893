/**
 * Summarise docs/experiments/*.json as markdown: one row per (data set, method, config), mean ± std
 * over seeds of the test metrics, with epochs and mean training time.
 *
 *   npx tsx scripts/summarize-experiments.ts [name-prefix]
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface Record {
  name: string;
  data: string;
  method: string;
  config: unknown;
  seed: number;
  epochs: number;
  trainSeconds: number;
  metrics: { [k: string]: number | null };
}

const prefix = process.argv[2] ?? "";
const records: Record[] = readdirSync("docs/experiments")
  .filter((f) => f.endsWith(".json") && f.startsWith(prefix))
  .map((f) => JSON.parse(readFileSync(join("docs/experiments", f), "utf8")));
const groups = new Map<string, Record[]>();
for (const r of records) {
  const key = `${r.data}|${r.method}|${JSON.stringify(r.config)}|${r.epochs}`;
  groups.set(key, [...(groups.get(key) ?? []), r]);
}
const stat = (values: Array<number | null>) => {
  const v = values.filter((x): x is number => x !== null).map((x) => 100 * x);
  if (v.length === 0) return "n/a";
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return v.length > 1 ? `${mean.toFixed(1)} ± ${std.toFixed(1)}` : mean.toFixed(1);
};
const metrics = ["image_auroc", "pixel_auroc", "aupro", "accuracy_at_threshold", "f1_at_threshold"];
const cell = (v: number | null | undefined) => v ?? null;
process.stdout.write(`| data | method | epochs | seeds | ${metrics.join(" | ")} | train time (mean) |\n`);
process.stdout.write(`|---|---|---:|---|${metrics.map(() => "---:").join("|")}|---:|\n`);
for (const group of groups.values()) {
  const r0 = group[0];
  const seeds = group.map((r) => r.seed).join(", ");
  const time = group.reduce((a, r) => a + r.trainSeconds, 0) / group.length;
  process.stdout.write(
    `| ${r0.data.split("/").pop()} | ${r0.method} | ${r0.epochs} | ${seeds} | ${metrics.map((m) => stat(group.map((r) => cell(r.metrics[m])))).join(" | ")} | ${(time / 60).toFixed(1)} min |\n`,
  );
}
