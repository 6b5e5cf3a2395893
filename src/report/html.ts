/**
 * The self-contained HTML report: one file that opens from disk with no network (images are inline
 * PNG data URIs, charts are inline SVG, CSS is inline, the outcome filter is pure CSS). It shows the
 * metrics (missing ones as "n/a" with the reason), the thresholds with their provenance and rule, how the
 * model's epoch was selected with its per-epoch validation curve, the ROC curve,
 * histograms of normal vs anomalous image scores with the threshold, a grid of overlays (worst false
 * positives and false negatives first, at most 48 tiles) with a colour-scale and contour legend, the
 * model's config and notes. Every string from the input is HTML-escaped.
 */
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic.js";
import { cssColour, GROUND_TRUTH_COLOUR, inferno, PREDICTED_COLOUR } from "./colormap.js";
import { overlayDataUri, reportMapRange } from "./overlays.js";
import type {
  MapRange,
  ReportInput,
  ReportMetric,
  ReportSelection,
  ReportTile,
  TestReportInput,
} from "./types.js";

/** Tiles shown in the HTML grid; the rest are counted in a note (their overlay PNGs are still written). */
export const GRID_LIMIT = 48;

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** Compact number formatting: integers as they are, 4 decimals in the usual range, else exponential. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toFixed(4) : v.toExponential(3);
}

export type Outcome = "FP" | "FN" | "TP" | "TN";

export function outcome(t: { label: 0 | 1; predictedLabel: 0 | 1 }): Outcome {
  if (t.predictedLabel === 1) return t.label === 1 ? "TP" : "FP";
  return t.label === 1 ? "FN" : "TN";
}

/** Worst false positives (highest score) and false negatives (lowest score) first, then TP and TN. */
export function orderTiles<T extends { label: 0 | 1; predictedLabel: 0 | 1; score: number }>(
  tiles: readonly T[],
): T[] {
  const group = (o: Outcome) => tiles.filter((t) => outcome(t) === o);
  const descending = (a: T, b: T) => b.score - a.score;
  const ascending = (a: T, b: T) => a.score - b.score;
  return [
    ...group("FP").sort(descending),
    ...group("FN").sort(ascending),
    ...group("TP").sort(descending),
    ...group("TN").sort(descending),
  ];
}

const W = 400;
const H = 280;
const PAD = { left: 52, right: 14, top: 14, bottom: 42 };
const PLOT_W = W - PAD.left - PAD.right;
const PLOT_H = H - PAD.top - PAD.bottom;

/** Round tick values in [lo, hi]: the step of 1, 2 or 5 × 10^k giving the closest to `count` intervals. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const closest = (a: number, b: number) =>
    Math.abs((hi - lo) / (a * power) - count) <= Math.abs((hi - lo) / (b * power) - count) ? a : b;
  const step = [1, 2, 5, 10].reduce(closest) * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
    ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function axes(
  xLabel: string,
  yLabel: string,
  xTicks: Array<[number, string]>,
  yTicks: Array<[number, string]>,
): string {
  const x0 = PAD.left;
  const y0 = H - PAD.bottom;
  const midY = PAD.top + PLOT_H / 2;
  return [
    ...yTicks.map(
      ([y]) =>
        `<line x1="${x0}" y1="${y.toFixed(1)}" x2="${W - PAD.right}" y2="${y.toFixed(1)}" class="gridline"/>`,
    ),
    `<line x1="${x0}" y1="${y0}" x2="${W - PAD.right}" y2="${y0}" class="axis"/>`,
    `<line x1="${x0}" y1="${PAD.top}" x2="${x0}" y2="${y0}" class="axis"/>`,
    ...xTicks.map(
      ([x, t]) =>
        `<line x1="${x.toFixed(1)}" y1="${y0}" x2="${x.toFixed(1)}" y2="${y0 + 4}" class="axis"/><text x="${x.toFixed(1)}" y="${y0 + 16}" text-anchor="middle">${t}</text>`,
    ),
    ...yTicks.map(
      ([y, t]) =>
        `<line x1="${x0 - 4}" y1="${y.toFixed(1)}" x2="${x0}" y2="${y.toFixed(1)}" class="axis"/><text x="${x0 - 7}" y="${(y + 4).toFixed(1)}" text-anchor="end">${t}</text>`,
    ),
    `<text x="${x0 + PLOT_W / 2}" y="${H - 8}" text-anchor="middle" class="label">${xLabel}</text>`,
    `<text x="14" y="${midY}" text-anchor="middle" class="label" transform="rotate(-90 14 ${midY})">${yLabel}</text>`,
  ].join("");
}

/** Area under a ROC curve (trapezoids over the given points). */
function rocArea(roc: { fpr: number[]; tpr: number[] }): number {
  let area = 0;
  for (let i = 1; i < roc.fpr.length; i++)
    area += ((roc.fpr[i] - roc.fpr[i - 1]) * (roc.tpr[i] + roc.tpr[i - 1])) / 2;
  return area;
}

/** ROC curve as an inline SVG, the chance diagonal dashed, the area under it printed in the corner. */
export function rocSvg(roc: { fpr: number[]; tpr: number[] }): string {
  const sx = (v: number) => PAD.left + v * PLOT_W;
  const sy = (v: number) => H - PAD.bottom - v * PLOT_H;
  const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1];
  const points = roc.fpr.map((f, i) => `${sx(f).toFixed(1)},${sy(roc.tpr[i]).toFixed(1)}`).join(" ");
  return `<svg viewBox="0 0 ${W} ${H}" class="chart" role="img" aria-label="ROC curve">${axes(
    "false positive rate",
    "true positive rate",
    ticks.map((t) => [sx(t), String(t)]),
    ticks.map((t) => [sy(t), String(t)]),
  )}<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" class="diagonal"/><polyline points="${points}" class="roc"/><text x="${sx(1) - 6}" y="${sy(0) - 8}" text-anchor="end" class="label">area ${rocArea(roc).toFixed(3)}</text></svg>`;
}

/** Histograms of normal and anomalous image scores (fraction of each class per bin), threshold as a vertical line. */
export function histogramSvg(
  scores: { normal: number[]; anomalous: number[] },
  threshold: number,
  bins = 30,
): string {
  const all = [...scores.normal, ...scores.anomalous, threshold].filter(Number.isFinite);
  const spread = Math.max(...all) - Math.min(...all) || Math.abs(all[0]) || 1;
  const lo = Math.min(...all) - 0.04 * spread;
  const span = 1.08 * spread;
  const count = (values: number[]) => {
    const h = new Array<number>(bins).fill(0);
    for (const v of values) {
      if (Number.isFinite(v)) h[Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / span) * bins)))]++;
    }
    return h.map((c) => c / Math.max(values.length, 1));
  };
  const normal = count(scores.normal);
  const anomalous = count(scores.anomalous);
  const tallest = Math.max(...normal, ...anomalous, 1e-9);
  const yTickValues = niceTicks(0, tallest, 4);
  if (yTickValues.at(-1)! < tallest) yTickValues.push(2 * yTickValues.at(-1)! - yTickValues.at(-2)!);
  const top = yTickValues.at(-1)!;
  const sx = (v: number) => PAD.left + ((v - lo) / span) * PLOT_W;
  const sy = (v: number) => H - PAD.bottom - (v / top) * PLOT_H;
  const barWidth = PLOT_W / bins;
  const bars = (h: number[], cls: string) =>
    h
      .map((v, i) =>
        v > 0
          ? `<rect x="${(PAD.left + i * barWidth).toFixed(1)}" y="${sy(v).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(H - PAD.bottom - sy(v)).toFixed(1)}" class="${cls}"/>`
          : "",
      )
      .join("");
  const xTicks: Array<[number, string]> = niceTicks(lo, lo + span, 5).map((t) => [sx(t), formatTick(t)]);
  const yTicks: Array<[number, string]> = yTickValues.map((t) => [sy(t), formatTick(t)]);
  const tx = sx(threshold);
  const rightHalf = tx > PAD.left + PLOT_W / 2;
  return `<svg viewBox="0 0 ${W} ${H}" class="chart" role="img" aria-label="score histograms">${axes("image score", "fraction of the class", xTicks, yTicks)}${bars(normal, "normal")}${bars(anomalous, "anomalous")}<line x1="${tx.toFixed(1)}" y1="${PAD.top}" x2="${tx.toFixed(1)}" y2="${H - PAD.bottom}" class="threshold"/><text x="${(tx + (rightHalf ? -5 : 5)).toFixed(1)}" y="${PAD.top + 11}" text-anchor="${rightHalf ? "end" : "start"}" class="label">threshold ${formatNumber(threshold)}</text></svg>`;
}

/**
 * The per-epoch validation curve a model was selected on: image AUROC (solid), pixel AUROC (dashed) and
 * AUPRO (dotted) where recorded, the selected epoch as a vertical line labelled at the bottom (where the
 * curves usually are not).
 */
export function selectionCurveSvg(selection: ReportSelection): string {
  const curve = selection.curve;
  const series = [
    { name: "image AUROC", values: curve.map((p) => p.imageAuroc), cls: "curve-image" },
    { name: "pixel AUROC", values: curve.map((p) => p.pixelAuroc), cls: "curve-pixel" },
    { name: "AUPRO", values: curve.map((p) => p.aupro), cls: "curve-pro" },
  ].filter((s) => s.values.every((v) => v !== null)) as Array<{
    name: string;
    values: number[];
    cls: string;
  }>;
  const all = series.flatMap((s) => s.values);
  const lo = Math.max(0, Math.floor(Math.min(...all, 0.5) * 10) / 10);
  const first = curve[0].epoch;
  const last = Math.max(curve.at(-1)!.epoch, first + 1);
  const sx = (e: number) => PAD.left + ((e - first) / (last - first)) * PLOT_W;
  const sy = (v: number) => H - PAD.bottom - ((v - lo) / (1 - lo)) * PLOT_H;
  const xTicks: Array<[number, string]> = niceTicks(first, last, Math.min(6, last - first))
    .filter((t) => Number.isInteger(t))
    .map((t) => [sx(t), String(t)]);
  const yTicks: Array<[number, string]> = niceTicks(lo, 1, 5).map((t) => [sy(t), formatTick(t)]);
  const lines = series
    .map(
      (s) =>
        `<polyline points="${s.values.map((v, i) => `${sx(curve[i].epoch).toFixed(1)},${sy(v).toFixed(1)}`).join(" ")}" class="${s.cls}"/>`,
    )
    .join("");
  const tx = sx(selection.selectedEpoch);
  const rightHalf = tx > PAD.left + PLOT_W / 2;
  return `<svg viewBox="0 0 ${W} ${H}" class="chart" role="img" aria-label="validation curve">${axes("epoch", "validation metric", xTicks, yTicks)}${lines}<line x1="${tx.toFixed(1)}" y1="${PAD.top}" x2="${tx.toFixed(1)}" y2="${H - PAD.bottom}" class="threshold"/><text x="${(tx + (rightHalf ? -5 : 5)).toFixed(1)}" y="${H - PAD.bottom - 6}" text-anchor="${rightHalf ? "end" : "start"}" class="label">selected epoch ${selection.selectedEpoch}</text></svg>`;
}

/** The "Model selection" section: criterion, validation set, selected epoch and the curve. */
function selectionSection(selection: ReportSelection): string {
  const e = escapeHtml;
  const set = selection.set;
  const description =
    selection.criterion === "last"
      ? `Criterion: last — the model is the last epoch (${selection.selectedEpoch}); no validation curve was computed.`
      : `Criterion: ${selection.criterion} — ${selection.metric ?? ""}${
          set
            ? ` (${set.normal} normal and ${set.anomalous} ${set.source === "synthetic" ? "synthetic anomalous" : "anomalous"} validation images${set.defects.length ? `; defects: ${set.defects.join(", ")}` : ""}${set.seed !== null ? `; seed ${set.seed}` : ""})`
            : ""
        }. Selected epoch ${selection.selectedEpoch} of ${selection.curve.at(-1)?.epoch ?? selection.selectedEpoch}; its weights are the model.`;
  const legend = [
    ["image AUROC (criterion)", "#2563eb", "solid"],
    ["pixel AUROC", "#059669", "dashed"],
    ["AUPRO", "#d97706", "dotted"],
  ]
    .filter(([name]) =>
      selection.curve.every((p) =>
        name.startsWith("pixel") ? p.pixelAuroc !== null : name === "AUPRO" ? p.aupro !== null : true,
      ),
    )
    .map(
      ([name, colour, style]) =>
        `<span><i class="line-swatch" style="border-color:${colour};border-top-style:${style}"></i>${e(name)}</span>`,
    )
    .join("");
  const chart =
    selection.curve.length > 0
      ? `<div class="charts"><figure><figcaption>Validation metrics after every epoch</figcaption>${selectionCurveSvg(selection)}<div class="legend">${legend}<span><i class="line-swatch" style="border-color:#111827;border-top-style:dashed"></i>selected epoch</span></div></figure></div>`
      : "";
  return `<section><h2>Model selection</h2><p class="note">${e(description)} The test images play no part in this choice.</p>${chart}</section>`;
}

function formatTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e5 ? String(Number(v.toPrecision(6))) : v.toExponential(1);
}

/** The overlay colour scale as an inline SVG bar with its end values (and the pixel threshold mid-scale). */
export function colourBarSvg(range: MapRange | null, pixelThreshold: number | null): string {
  const stops = Array.from({ length: 11 }, (_, k) => {
    const v = k / 10;
    return `<stop offset="${v}" stop-color="${cssColour(inferno(v))}"/>`;
  }).join("");
  const lo = range ? formatNumber(range.lo) : "0";
  const hi = range ? formatNumber(range.hi) : "1";
  const mid =
    pixelThreshold !== null &&
    range &&
    Math.abs((pixelThreshold - range.lo) / (range.hi - range.lo) - 0.5) < 1e-6
      ? `pixel threshold ${formatNumber(pixelThreshold)}`
      : range
        ? formatNumber((range.lo + range.hi) / 2)
        : "0.5 = pixel threshold";
  return `<svg viewBox="0 0 300 34" class="colourbar" role="img" aria-label="colour scale"><defs><linearGradient id="inferno">${stops}</linearGradient></defs><rect x="10" y="2" width="280" height="12" fill="url(#inferno)" stroke="#9ca3af" stroke-width="0.5"/><line x1="150" y1="2" x2="150" y2="17" stroke="#374151"/><text x="10" y="29" text-anchor="start">${lo}</text><text x="150" y="29" text-anchor="middle">${escapeHtml(mid)}</text><text x="290" y="29" text-anchor="end">${hi}</text></svg>`;
}

const STYLE = `
:root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f5f6f8}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;color:var(--ink);background:var(--bg);line-height:1.45}
header{background:#1f2937;color:#fff;padding:20px 32px}header h1{margin:0;font-size:22px;font-weight:600}
header dl{display:flex;flex-wrap:wrap;gap:4px 28px;margin:10px 0 0;font-size:13px;color:#d1d5db}header dt{display:inline;color:#9ca3af}header dd{display:inline;margin:0 0 0 6px;color:#fff}
main{padding:22px 32px;max-width:1480px;margin:0 auto}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:18px 22px;margin-bottom:18px}
h2{font-size:16px;margin:0 0 12px;font-weight:600}
.two{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:18px}.two section{margin:0}
table{border-collapse:collapse;font-size:14px;width:100%}td,th{padding:6px 10px;border-bottom:1px solid #f0f1f3;text-align:left;vertical-align:top}th{font-weight:600;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.03em}
td.num{font-variant-numeric:tabular-nums;text-align:right;white-space:nowrap;width:1%}td.na{color:var(--muted)}.note{color:var(--muted);font-size:12.5px}
.threshold-value{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:28px}.charts figure{margin:0;flex:1 1 360px;max-width:520px}figcaption{font-size:13px;font-weight:600;margin-bottom:4px}
.chart{width:100%;height:auto;font-size:11px;fill:#4b5563}.chart text{fill:#4b5563}
.curve-image{fill:none;stroke:#2563eb;stroke-width:2}.curve-pixel{fill:none;stroke:#059669;stroke-width:2;stroke-dasharray:6 3}.curve-pro{fill:none;stroke:#d97706;stroke-width:2;stroke-dasharray:2 3}
.axis{stroke:#6b7280;stroke-width:1}.gridline{stroke:#eef0f3;stroke-width:1}.diagonal{stroke:#b6bcc6;stroke-dasharray:4 4}.roc{fill:none;stroke:#2563eb;stroke-width:2;stroke-linejoin:round}
.normal{fill:#2563eb;fill-opacity:.5}.anomalous{fill:#dc2626;fill-opacity:.5}.threshold{stroke:#111827;stroke-width:1.5;stroke-dasharray:5 3}.chart .label{fill:#374151;font-size:12px}
.swatch.normal{background:rgba(37,99,235,.5)}.swatch.anomalous{background:rgba(220,38,38,.5)}
.legend{display:flex;flex-wrap:wrap;align-items:center;gap:6px 20px;font-size:13px;margin:8px 0}.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.line-swatch{display:inline-block;width:22px;height:0;border-top:3px solid;margin-right:6px;vertical-align:3px}
.colourbar{width:300px;height:34px;font-size:10px}.colourbar text{fill:#4b5563}
.filters{display:flex;flex-wrap:wrap;gap:6px;margin:10px 0 14px}.filters label{border:1px solid var(--line);border-radius:999px;padding:3px 12px;font-size:13px;cursor:pointer;background:#fff;user-select:none}
#f-all:checked~.filters label[for=f-all],#f-FP:checked~.filters label[for=f-FP],#f-FN:checked~.filters label[for=f-FN],#f-TP:checked~.filters label[for=f-TP],#f-TN:checked~.filters label[for=f-TN]{background:#1f2937;color:#fff;border-color:#1f2937}
#f-FP:checked~.grid .tile:not(.o-FP),#f-FN:checked~.grid .tile:not(.o-FN),#f-TP:checked~.grid .tile:not(.o-TP),#f-TN:checked~.grid .tile:not(.o-TN){display:none}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:14px}
.tile{border:1px solid var(--line);border-radius:6px;padding:6px;background:#fafafa;margin:0}.tile img{width:100%;height:auto;image-rendering:pixelated;display:block;border-radius:3px}
.tile figcaption{font-size:12px;font-weight:400;margin-top:6px;line-height:1.5}.tile .name{font-weight:600;word-break:break-all}.tile .meta{color:var(--muted);font-variant-numeric:tabular-nums}
.badge{font-weight:600;padding:1px 6px;border-radius:3px;color:#fff;font-size:11px;margin-right:6px;letter-spacing:.03em}
.FP{background:#dc2626}.FN{background:#d97706}.TP{background:#059669}.TN{background:#64748b}
pre{background:#f3f4f6;padding:12px 14px;border-radius:6px;font-size:12px;overflow:auto;max-height:480px;margin:0}
ul{margin:0;padding-left:20px}li{margin:3px 0}
@media (max-width:640px){header,main{padding-left:14px;padding-right:14px}}
`;

/** `2026-11-30T19:24:05.123Z` → `2026-11-30 19:24 UTC`; anything else as given. */
function formatDate(text: string): string {
  const date = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(date.getTime())) return text;
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** ` · rule <name>` after a threshold's provenance, when the rule is known. */
function ruleNote(rule: string | undefined): string {
  return rule ? ` · rule ${escapeHtml(rule)}` : "";
}

function metricRow(m: ReportMetric): string {
  const e = escapeHtml;
  return m.value === null
    ? `<tr><td>${e(m.name)}</td><td class="num na">n/a</td><td class="note">${e(m.note ?? "")}</td></tr>`
    : `<tr><td>${e(m.name)}</td><td class="num">${formatNumber(m.value)}</td><td class="note">${e(m.note ?? "")}</td></tr>`;
}

function tileHtml(t: ReportTile): string {
  const e = escapeHtml;
  const o = outcome(t);
  const name = t.path.split(/[\\/]/).slice(-2).join("/");
  const truth = t.label === 1 ? `anomalous${t.defectType ? ` (${e(t.defectType)})` : ""}` : "normal";
  return `<figure class="tile o-${o}"><img src="${e(t.panel)}" alt="${e(t.path)}" loading="lazy"><figcaption><span class="badge ${o}">${o}</span><span class="name" title="${e(t.path)}">${e(name)}</span><br><span class="meta">score ${formatNumber(t.score)} · normalised ${t.normalizedScore.toFixed(3)} · truth: ${truth} · predicted: ${t.predictedLabel === 1 ? "anomalous" : "normal"}</span></figcaption></figure>`;
}

/** The HTML of the report page (synchronous; images must already be data URIs). */
export function renderReport(input: ReportInput): string {
  const e = escapeHtml;
  const ordered = orderTiles(input.tiles);
  const counts = (o: Outcome) => ordered.filter((t) => outcome(t) === o).length;
  const filters = (["FP", "FN", "TP", "TN"] as const)
    .map((o) => `<label for="f-${o}">${o} (${counts(o)})</label>`)
    .join("");
  const radios = ["all", "FP", "FN", "TP", "TN"]
    .map((o) => `<input type="radio" name="outcome" id="f-${o}"${o === "all" ? " checked" : ""} hidden>`)
    .join("");
  const hasBoth = input.scores.normal.length > 0 && input.scores.anomalous.length > 0;
  const pixel = input.pixelThreshold;
  const scale = input.mapScale ?? {
    range: null,
    description: "Maps are normalised per model: 0.5 is the pixel threshold.",
  };
  const dataset = `${input.data.path}${input.data.category ? ` · category ${input.data.category}` : ""} (${input.data.layout} layout)`;
  const header = [
    ["method", input.method],
    ["data set", dataset],
    ["model", input.modelDir],
    ["created", formatDate(input.createdAt)],
  ]
    .map(([k, v]) => `<div><dt>${e(k)}</dt><dd>${e(v)}</dd></div>`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${e(input.title)}</title><style>${STYLE}</style></head>
<body><header><h1>${e(input.title)}</h1><dl>${header}</dl></header>
<main>
<div class="two">
<section><h2>Metrics</h2><table><thead><tr><th>metric</th><th>value</th><th>note</th></tr></thead><tbody>${input.metrics.map(metricRow).join("")}</tbody></table></section>
<section><h2>Thresholds</h2><p>Image score threshold<br><span class="threshold-value">${formatNumber(input.threshold.value)}</span><br><span class="note">${e(input.threshold.provenance)}${ruleNote(input.threshold.rule)}</span></p>
<p>Pixel threshold (predicted masks)<br>${pixel.value === null ? `<span class="threshold-value na">n/a</span>` : `<span class="threshold-value">${formatNumber(pixel.value)}</span>`}<br><span class="note">${e(pixel.provenance)}${ruleNote(pixel.rule)}</span></p>
<p class="note">An image is predicted anomalous when its score exceeds the image threshold; normalised scores put it at 0.5.</p></section>
</div>
${input.selection ? selectionSection(input.selection).replace("<section>", '<section style="margin-top:18px">') : ""}
<section style="margin-top:18px"><h2>Scores</h2><div class="charts"><figure><figcaption>ROC curve (image level)</figcaption>${hasBoth ? rocSvg(input.roc) : '<p class="note">n/a: the ROC curve needs both normal and anomalous test images.</p>'}</figure>
<figure><figcaption>Image scores: normal vs anomalous</figcaption>${histogramSvg(input.scores, input.threshold.value)}<div class="legend"><span><i class="swatch normal"></i>normal (${input.scores.normal.length})</span><span><i class="swatch anomalous"></i>anomalous (${input.scores.anomalous.length})</span><span><i class="line-swatch" style="border-color:#111827;border-top-style:dashed"></i>threshold</span></div></figure></div></section>
<section><h2>Test images</h2>
<div class="legend"><span>Left: input · right: anomaly map over the input</span>${colourBarSvg(scale.range, pixel.value)}<span><i class="line-swatch" style="border-color:${cssColour(GROUND_TRUTH_COLOUR)}"></i>ground truth</span><span><i class="line-swatch" style="border-color:${cssColour(PREDICTED_COLOUR)};border-top-style:dashed"></i>predicted mask</span></div>
<p class="note">${e(scale.description)} Order: false positives (highest score first), false negatives (lowest score first), then true positives and true negatives.${input.hiddenTiles > 0 ? ` ${input.hiddenTiles} more image${input.hiddenTiles === 1 ? " is" : "s are"} not shown here.` : ""} Every overlay is also written as a PNG to ${e(input.overlayFolder)}.</p>
${radios}<div class="filters"><label for="f-all">all (${ordered.length})</label>${filters}</div>
<div class="grid">${ordered.map(tileHtml).join("")}</div></section>
<section><h2>Model configuration</h2><pre>${e(JSON.stringify(input.config, null, 2) ?? "null")}</pre></section>
${input.notes.length ? `<section><h2>Notes</h2><ul>${input.notes.map((n) => `<li>${e(n)}</li>`).join("")}</ul></section>` : ""}
</main></body></html>
`;
}

/** The metric rows of the page, with the reason for every missing value. */
function metricRows(input: TestReportInput): ReportMetric[] {
  const m = input.metrics;
  const noMasks = "no pixel masks in this data set";
  const rows: ReportMetric[] = [
    {
      name: "image AUROC",
      value: m.image_auroc,
      note: m.image_auroc === null ? "needs both normal and anomalous test images" : "",
    },
    {
      name: "pixel AUROC",
      value: m.pixel_auroc,
      note: m.pixel_auroc === null ? noMasks : m.evaluation_resolution ? `at ${m.evaluation_resolution}` : "",
    },
    { name: "AUPRO (FPR ≤ 0.3)", value: m.aupro, note: m.aupro === null ? noMasks : "" },
    {
      name: "average precision",
      value: m.average_precision,
      note: m.average_precision === null ? "needs anomalous test images" : "",
    },
    {
      name: "F1-max",
      value: m.f1_max,
      note:
        m.f1_max === null
          ? "needs anomalous test images"
          : "best threshold chosen on the test set itself (an oracle, not deployable)",
    },
  ];
  if (m.accuracy_at_threshold !== undefined)
    rows.push({ name: "accuracy at the model's threshold", value: m.accuracy_at_threshold });
  if (m.f1_at_threshold !== undefined)
    rows.push({ name: "F1 at the model's threshold", value: m.f1_at_threshold });
  rows.push(
    { name: "normal test images", value: m.n_normal },
    { name: "anomalous test images", value: m.n_anomalous },
  );
  return rows;
}

/**
 * The page model of a test report: metric rows, ordered and capped tiles (overlay thumbnails with halves
 * of at most `THUMBNAIL_SIDE` px, colours on the shared `reportMapRange`), score lists for the charts.
 */
export async function buildReportPage(
  input: TestReportInput,
  overlayFolder = "overlays",
): Promise<ReportInput> {
  const range = reportMapRange(input);
  const shown = orderTiles(input.images).slice(0, GRID_LIMIT);
  const tiles: ReportTile[] = [];
  for (const item of shown) {
    tiles.push({
      path: item.path,
      label: item.label,
      predictedLabel: item.predictedLabel,
      defectType: item.defectType,
      score: item.score,
      normalizedScore: item.normalizedScore,
      panel: await overlayDataUri(item.image, item.anomalyMap, item.predictedMask, item.mask, { range }),
    });
  }
  const fromNormal = input.images.some((i) => i.label === 0) ? "normal test images" : "test images";
  return {
    title: input.title,
    createdAt: input.createdAt,
    method: input.method,
    modelDir: input.modelDir,
    data: input.dataset,
    metrics: metricRows(input),
    threshold: {
      value: input.threshold.image,
      provenance: input.threshold.provenance,
      rule: input.threshold.rule,
    },
    selection: input.selection,
    pixelThreshold: {
      rule: input.threshold.pixelRule,
      value: input.threshold.pixel,
      provenance:
        input.threshold.pixel === null
          ? "the model has no pixel threshold, so no masks are predicted"
          : (input.threshold.pixelProvenance ?? ""),
    },
    roc: input.roc,
    scores: {
      normal: input.images.filter((i) => i.label === 0).map((i) => i.score),
      anomalous: input.images.filter((i) => i.label === 1).map((i) => i.score),
    },
    tiles,
    hiddenTiles: input.images.length - tiles.length,
    overlayFolder,
    mapScale: {
      range,
      description:
        input.threshold.pixel === null
          ? `One colour scale for all images: from the median to the 99.9th percentile of the ${fromNormal}' pixel scores.`
          : `One colour scale for all images: from the median pixel score of the ${fromNormal} (uncoloured) to twice the pixel threshold's distance from it, so the threshold sits mid-scale.`,
    },
    config: input.config,
    notes: input.notes,
  };
}

/** The complete report HTML of a test run (`overlayFolder` is only mentioned in the text). */
export async function renderTestReport(input: TestReportInput, overlayFolder = "overlays"): Promise<string> {
  return renderReport(await buildReportPage(input, overlayFolder));
}

/** Write `<outDir>/report.html` atomically; returns its path. Overlay PNGs are `writeOverlayPngs`' job. */
export async function writeReport(
  input: TestReportInput,
  outDir: string,
  overlayFolder = "overlays",
): Promise<string> {
  const file = join(outDir, "report.html");
  await writeFileAtomic(file, await renderTestReport(input, overlayFolder));
  return file;
}
