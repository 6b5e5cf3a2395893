/**
 * The self-contained HTML report: one file, no network (images are inline PNG data URIs, charts are
 * inline SVG, CSS is inline). Metrics table, threshold and its provenance, ROC curve, score
 * histograms of normal vs anomalous images, a grid of overlays (worst false positives and false
 * negatives first), the model's config and notes.
 */

export interface ReportTile {
  path: string;
  label: 0 | 1;
  predictedLabel: 0 | 1;
  defectType?: string;
  score: number;
  normalizedScore: number;
  /** PNG data URI of the overlay panel (original | overlay with contours). */
  panel: string;
}

export interface ReportMetric {
  name: string;
  value: number | null;
  /** Why the value is missing, or a caveat (e.g. "oracle threshold on the test set"). */
  note?: string;
}

export interface ReportInput {
  title: string;
  createdAt: string;
  method: string;
  modelDir: string;
  data: { path: string; layout: string };
  metrics: ReportMetric[];
  threshold: { value: number; provenance: string };
  pixelThreshold: { value: number; provenance: string };
  roc: { fpr: number[]; tpr: number[] };
  scores: { normal: number[]; anomalous: number[] };
  tiles: ReportTile[];
  /** Images not shown in the grid (the grid is capped). */
  hiddenTiles: number;
  overlayFolder: string;
  config: unknown;
  notes: string[];
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

const fmt = (v: number) =>
  Number.isInteger(v)
    ? String(v)
    : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4
      ? v.toFixed(4)
      : v.toExponential(3);

function outcome(t: ReportTile): "FP" | "FN" | "TP" | "TN" {
  if (t.predictedLabel === 1) return t.label === 1 ? "TP" : "FP";
  return t.label === 1 ? "FN" : "TN";
}

/** Worst false positives (highest score) and false negatives (lowest score) first, then the rest. */
export function orderTiles(tiles: readonly ReportTile[]): ReportTile[] {
  const group = (o: string) => tiles.filter((t) => outcome(t) === o);
  const byScore = (desc: boolean) => (a: ReportTile, b: ReportTile) =>
    desc ? b.score - a.score : a.score - b.score;
  return [
    ...group("FP").sort(byScore(true)),
    ...group("FN").sort(byScore(false)),
    ...group("TP").sort(byScore(true)),
    ...group("TN").sort(byScore(true)),
  ];
}

const W = 360;
const H = 260;
const PAD = { left: 46, right: 12, top: 12, bottom: 38 };

function axes(
  xLabel: string,
  yLabel: string,
  xTicks: Array<[number, string]>,
  yTicks: Array<[number, string]>,
): string {
  const x0 = PAD.left;
  const y0 = H - PAD.bottom;
  const parts = [
    `<line x1="${x0}" y1="${y0}" x2="${W - PAD.right}" y2="${y0}" class="axis"/>`,
    `<line x1="${x0}" y1="${PAD.top}" x2="${x0}" y2="${y0}" class="axis"/>`,
    ...xTicks.map(
      ([x, t]) =>
        `<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + 4}" class="axis"/><text x="${x}" y="${y0 + 16}" text-anchor="middle">${t}</text>`,
    ),
    ...yTicks.map(
      ([y, t]) =>
        `<line x1="${x0 - 4}" y1="${y}" x2="${x0}" y2="${y}" class="axis"/><text x="${x0 - 7}" y="${y + 4}" text-anchor="end">${t}</text>`,
    ),
    `<text x="${(x0 + W - PAD.right) / 2}" y="${H - 6}" text-anchor="middle" class="label">${xLabel}</text>`,
    `<text x="12" y="${(PAD.top + y0) / 2}" text-anchor="middle" class="label" transform="rotate(-90 12 ${(PAD.top + y0) / 2})">${yLabel}</text>`,
  ];
  return parts.join("");
}

/** ROC curve as an inline SVG (the diagonal dashed). */
export function rocSvg(roc: { fpr: number[]; tpr: number[] }): string {
  const sx = (v: number) => PAD.left + v * (W - PAD.left - PAD.right);
  const sy = (v: number) => H - PAD.bottom - v * (H - PAD.top - PAD.bottom);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const points = roc.fpr.map((f, i) => `${sx(f).toFixed(1)},${sy(roc.tpr[i]).toFixed(1)}`).join(" ");
  return `<svg viewBox="0 0 ${W} ${H}" class="chart" role="img" aria-label="ROC curve">${axes(
    "false positive rate",
    "true positive rate",
    ticks.map((t) => [sx(t), String(t)]),
    ticks.map((t) => [sy(t), String(t)]),
  )}<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" class="diagonal"/><polyline points="${points}" class="roc"/></svg>`;
}

/** Histograms of normal and anomalous image scores with the threshold as a vertical line. */
export function histogramSvg(
  scores: { normal: number[]; anomalous: number[] },
  threshold: number,
  bins = 30,
): string {
  const all = [...scores.normal, ...scores.anomalous, threshold];
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const span = hi - lo || 1;
  const count = (values: number[]) => {
    const h = new Array<number>(bins).fill(0);
    for (const v of values) h[Math.min(bins - 1, Math.floor(((v - lo) / span) * bins))]++;
    return h.map((c) => c / Math.max(values.length, 1));
  };
  const normal = count(scores.normal);
  const anomalous = count(scores.anomalous);
  const top = Math.max(...normal, ...anomalous, 1e-9);
  const sx = (v: number) => PAD.left + ((v - lo) / span) * (W - PAD.left - PAD.right);
  const sy = (v: number) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  const barWidth = (W - PAD.left - PAD.right) / bins;
  const bars = (h: number[], cls: string) =>
    h
      .map((v, i) =>
        v > 0
          ? `<rect x="${(PAD.left + i * barWidth).toFixed(1)}" y="${sy(v).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(H - PAD.bottom - sy(v)).toFixed(1)}" class="${cls}"/>`
          : "",
      )
      .join("");
  const xTicks: Array<[number, string]> = [0, 0.5, 1].map((t) => [sx(lo + t * span), fmt(lo + t * span)]);
  const yTicks: Array<[number, string]> = [0, 0.5, 1].map((t) => [sy(t * top), (t * top).toFixed(2)]);
  return `<svg viewBox="0 0 ${W} ${H}" class="chart" role="img" aria-label="score histograms">${axes("image score", "fraction of images", xTicks, yTicks)}${bars(normal, "normal")}${bars(anomalous, "anomalous")}<line x1="${sx(threshold)}" y1="${PAD.top}" x2="${sx(threshold)}" y2="${H - PAD.bottom}" class="threshold"/><text x="${sx(threshold) + (sx(threshold) > W / 2 ? -4 : 4)}" y="${PAD.top + 10}" text-anchor="${sx(threshold) > W / 2 ? "end" : "start"}" class="label">threshold</text></svg>`;
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#c6cbd6;font-size:14px}
main{padding:20px 28px;max-width:1400px}section{background:#fff;border:1px solid #e2e5ea;border-radius:8px;padding:16px 20px;margin-bottom:18px}
h2{font-size:16px;margin:0 0 12px}table{border-collapse:collapse;font-size:14px}td,th{padding:5px 12px;border-bottom:1px solid #eef0f3;text-align:left}
td.num{font-variant-numeric:tabular-nums;text-align:right}.note{color:#6b7280;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:24px}.chart{width:360px;height:260px;font-size:11px}
.axis{stroke:#6b7280;stroke-width:1}.diagonal{stroke:#c4c8cf;stroke-dasharray:4 4}.roc{fill:none;stroke:#2563eb;stroke-width:2}
.normal{fill:#16a34a;fill-opacity:.55}.anomalous{fill:#dc2626;fill-opacity:.55}.threshold{stroke:#111;stroke-width:1.5;stroke-dasharray:5 3}.label{fill:#374151;font-size:11px}
.legend span{display:inline-block;margin-right:16px;font-size:13px}.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:12px}
.tile{border:1px solid #e2e5ea;border-radius:6px;padding:6px;background:#fafbfc}.tile img{width:100%;image-rendering:pixelated;display:block}
.tile .cap{font-size:12px;margin-top:4px;word-break:break-all}.badge{font-weight:600;padding:1px 6px;border-radius:3px;color:#fff;font-size:11px;margin-right:6px}
.FP{background:#dc2626}.FN{background:#d97706}.TP{background:#16a34a}.TN{background:#64748b}
pre{background:#f3f4f6;padding:10px;border-radius:6px;font-size:12px;overflow:auto}
`;

export function renderReport(input: ReportInput): string {
  const e = escapeHtml;
  const metricRows = input.metrics
    .map(
      (m) =>
        `<tr><td>${e(m.name)}</td><td class="num">${m.value === null ? "n/a" : fmt(m.value)}</td><td class="note">${e(m.note ?? "")}</td></tr>`,
    )
    .join("");
  const tiles = orderTiles(input.tiles)
    .map((t) => {
      const o = outcome(t);
      return `<div class="tile"><img src="${t.panel}" alt="${e(t.path)}"><div class="cap"><span class="badge ${o}">${o}</span>${e(t.path.split("/").slice(-2).join("/"))}<br>score ${fmt(t.score)} · normalised ${t.normalizedScore.toFixed(3)} · ${t.label === 1 ? `anomalous${t.defectType ? ` (${e(t.defectType)})` : ""}` : "normal"}</div></div>`;
    })
    .join("");
  const hasBoth = input.scores.normal.length > 0 && input.scores.anomalous.length > 0;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${e(input.title)}</title><style>${STYLE}</style></head>
<body><header><h1>${e(input.title)}</h1><p>method <b>${e(input.method)}</b> · model ${e(input.modelDir)} · data ${e(input.data.path)} (layout ${e(input.data.layout)}) · ${e(input.createdAt)}</p></header>
<main>
<section><h2>Metrics</h2><table><tr><th>metric</th><th>value</th><th></th></tr>${metricRows}</table></section>
<section><h2>Threshold</h2><p>Image threshold <b>${fmt(input.threshold.value)}</b> — ${e(input.threshold.provenance)}.<br>Pixel threshold <b>${fmt(input.pixelThreshold.value)}</b> — ${e(input.pixelThreshold.provenance)}.</p><p class="note">Chosen during training on validation data only; the test split was not used. Normalised scores put the threshold at 0.5.</p></section>
<section><h2>Scores</h2><div class="charts">${hasBoth ? rocSvg(input.roc) : '<p class="note">ROC curve: n/a (the test split needs both normal and anomalous images)</p>'}${histogramSvg(input.scores, input.threshold.value)}</div>
<div class="legend"><span><i class="swatch" style="background:#16a34a;opacity:.6"></i>normal (${input.scores.normal.length})</span><span><i class="swatch" style="background:#dc2626;opacity:.6"></i>anomalous (${input.scores.anomalous.length})</span><span><i class="swatch" style="background:#111"></i>threshold</span></div></section>
<section><h2>Test images</h2><p class="legend"><span>Left: input · right: anomaly map (turbo colours, threshold at the middle of the scale)</span><span><i class="swatch" style="background:rgb(51,255,77)"></i>ground truth</span><span><i class="swatch" style="background:#fff;border:1px solid #999"></i>predicted mask</span></p>
<p class="note">Order: false positives (highest score first), false negatives (lowest score first), true positives, true negatives.${input.hiddenTiles > 0 ? ` ${input.hiddenTiles} more images are not shown here;` : ""} every overlay is also in ${e(input.overlayFolder)}.</p>
<div class="grid">${tiles}</div></section>
<section><h2>Model configuration</h2><pre>${e(JSON.stringify(input.config, null, 2))}</pre></section>
${input.notes.length ? `<section><h2>Notes</h2><ul>${input.notes.map((n) => `<li>${e(n)}</li>`).join("")}</ul></section>` : ""}
</main></body></html>
`;
}
