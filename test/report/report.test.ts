/** Report rendering: colours, overlays, contours, tile order, escaping, self-containment, n/a values, ROC path, PNG files. */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { createImage } from "../../src/io/image.js";
import {
  contour,
  downscale,
  inferno,
  luminance,
  mapRange,
  niceTicks,
  orderTiles,
  overlay,
  overlayFileName,
  type ReportInput,
  type ReportTile,
  renderReport,
  renderTestReport,
  rocSvg,
  selectionCurveSvg,
  writeOverlayPngs,
  writeReport,
} from "../../src/report/index.js";
import { fakeReportInput } from "./fixture.js";

const tile = (path: string, label: 0 | 1, predictedLabel: 0 | 1, score: number): ReportTile => ({
  path,
  label,
  predictedLabel,
  score,
  normalizedScore: 0.5,
  panel: "data:image/png;base64,AAAA",
});

function page(overrides: Partial<ReportInput> = {}): ReportInput {
  return {
    title: "t",
    createdAt: "2026-11-30",
    method: "ae",
    modelDir: "m",
    data: { path: "d", layout: "mvtec" },
    metrics: [{ name: "pixel AUROC", value: null, note: "no pixel masks in this data set" }],
    threshold: { value: 0.5, provenance: "99th percentile of 20 normal validation images" },
    pixelThreshold: { value: 0.1, provenance: "99th percentile of 5000 normal validation pixels" },
    roc: { fpr: [0, 0.5, 1], tpr: [0, 1, 1] },
    scores: { normal: [0.1, 0.2], anomalous: [0.7, 0.9] },
    tiles: [],
    hiddenTiles: 0,
    overlayFolder: "o",
    config: {},
    notes: [],
    ...overrides,
  };
}

const tileNames = (html: string) =>
  [...html.matchAll(/<span class="name" title="([^"]*)"/g)].map((m) => m[1]);

describe("colormap", () => {
  it("runs from near-black to pale yellow with rising luminance", () => {
    const [r0, g0, b0] = inferno(0);
    expect(Math.max(r0, g0, b0)).toBeLessThan(0.02);
    const [r1, g1, b1] = inferno(1);
    expect(r1).toBeGreaterThan(0.95);
    expect(g1).toBeGreaterThan(0.95);
    expect(b1).toBeLessThan(0.75);
    let previous = -1;
    for (let k = 0; k <= 256; k++) {
      const l = luminance(inferno(k / 256));
      expect(l).toBeGreaterThan(previous);
      previous = l;
    }
    expect(inferno(-3)).toEqual(inferno(0));
    expect(inferno(7)).toEqual(inferno(1));
  });

  it("puts the pixel threshold mid-scale above the normal pixels' median", () => {
    const normal = Float32Array.from({ length: 1001 }, (_, i) => i / 1000);
    expect(mapRange([normal], 0.75)).toEqual({ lo: 0.5, hi: 1 });
    const range = mapRange([normal], null);
    expect(range.lo).toBeCloseTo(0.5);
    expect(range.hi).toBeCloseTo(0.999);
  });
});

describe("overlays", () => {
  it("a zero map leaves the image unchanged (as RGB)", () => {
    const image = createImage(3, 2, 1);
    image.data.set([0, 0.2, 0.4, 0.6, 0.8, 1]);
    const out = overlay(image, new Float32Array(6), { alpha: 0.8 });
    expect(out.channels).toBe(3);
    for (let c = 0; c < 3; c++)
      expect(Array.from(out.data.subarray(c * 6, c * 6 + 6))).toEqual(Array.from(image.data));
  });

  it("colours high values more than low ones, relative to the given range", () => {
    const image = createImage(2, 1, 1);
    image.data.fill(0.5);
    const out = overlay(image, [10, 20], { range: { lo: 10, hi: 20 } });
    expect([out.data[0], out.data[2], out.data[4]]).toEqual([0.5, 0.5, 0.5]);
    expect(Math.abs(out.data[1] - 0.5) + Math.abs(out.data[3] - 0.5)).toBeGreaterThan(0.3);
  });

  it("the contour of a filled square is exactly its boundary ring", () => {
    const mask = new Float32Array(8 * 8);
    for (let y = 2; y <= 5; y++) for (let x = 2; x <= 5; x++) mask[y * 8 + x] = 1;
    const edge = contour(mask, 8, 8);
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        const ring = x >= 2 && x <= 5 && y >= 2 && y <= 5 && (x === 2 || x === 5 || y === 2 || y === 5);
        expect(edge[y * 8 + x]).toBe(ring ? 1 : 0);
      }
    }
  });

  it("downscales by box averaging to fit the longest side", () => {
    const image = createImage(4, 2, 1);
    image.data.set([0, 1, 1, 1, 0, 1, 0, 0]);
    const small = downscale(image, 2);
    expect([small.width, small.height]).toEqual([2, 1]);
    expect(Array.from(small.data)).toEqual([0.5, 0.5]);
  });

  it("numbers repeated stems", () => {
    const used = new Set<string>();
    expect(
      ["a/good/000.png", "b/crack/000.png", "c/000.bmp", "001.png"].map((p) => overlayFileName(p, used)),
    ).toEqual(["000_overlay.png", "000_overlay_2.png", "000_overlay_3.png", "001_overlay.png"]);
  });
});

describe("html report", () => {
  it("lists worst false positives first, then worst false negatives", () => {
    const ordered = orderTiles([
      tile("tn", 0, 0, 0.1),
      tile("fp-low", 0, 1, 0.6),
      tile("fn-high", 1, 0, 0.4),
      tile("fp-high", 0, 1, 0.9),
      tile("tp", 1, 1, 0.8),
      tile("fn-low", 1, 0, 0.2),
    ]);
    expect(ordered.map((t) => t.path)).toEqual(["fp-high", "fp-low", "fn-low", "fn-high", "tp", "tn"]);
  });

  it("is self-contained, escapes names, shows n/a with its reason and the threshold provenance", () => {
    const html = renderReport(page({ tiles: [tile("<script>alert(1)</script>.png", 1, 1, 0.9)] }));
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toContain("<script");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;.png");
    expect(html).toMatch(
      /<td>pixel AUROC<\/td><td class="num na">n\/a<\/td><td class="note">no pixel masks in this data set/,
    );
    expect(html).toContain("99th percentile of 20 normal validation images");
  });

  it("draws the ROC polyline from (0,0) to (1,1)", () => {
    const svg = rocSvg({ fpr: [0, 0.25, 1], tpr: [0, 0.75, 1] });
    const points = /points="([^"]+)"/.exec(svg)![1].split(" ");
    expect(points[0]).toBe("52.0,238.0");
    expect(points.at(-1)).toBe("386.0,14.0");
    expect(svg).toContain("area 0.750");
  });

  it("picks round axis ticks", () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.13, 1.37, 5)).toEqual([0.2, 0.4, 0.6, 0.8, 1, 1.2]);
  });

  it("shows the selection criterion, the validation curve with the selected epoch, and the threshold rule", async () => {
    const input = fakeReportInput({ normal: 4, anomalous: 4, size: 16 });
    input.threshold.rule = "f1-max-synthetic-validation";
    input.selection = {
      criterion: "synthetic",
      selectedEpoch: 2,
      metric: "image AUROC on the synthetic validation set",
      set: { source: "synthetic", normal: 5, anomalous: 5, defects: ["scratch", "lesion"], seed: 3 },
      curve: [
        { epoch: 1, imageAuroc: 0.6, pixelAuroc: 0.7, aupro: 0.3 },
        { epoch: 2, imageAuroc: 0.9, pixelAuroc: 0.8, aupro: 0.4 },
        { epoch: 3, imageAuroc: 0.7, pixelAuroc: 0.85, aupro: 0.45 },
      ],
    };
    const html = await renderTestReport(input);
    expect(html).toContain("<h2>Model selection</h2>");
    expect(html).toContain("Criterion: synthetic — image AUROC on the synthetic validation set");
    expect(html).toContain("defects: scratch, lesion; seed 3");
    expect(html).toContain("Selected epoch 2 of 3");
    expect(html).toContain("rule f1-max-synthetic-validation");
    const svg = selectionCurveSvg(input.selection);
    // Three series, one point per epoch; the marker sits on epoch 2, the middle of the x axis.
    const polylines = [...svg.matchAll(/<polyline points="([^"]+)" class="(curve-[a-z]+)"/g)];
    expect(polylines.map((m) => m[2])).toEqual(["curve-image", "curve-pixel", "curve-pro"]);
    for (const m of polylines) expect(m[1].split(" ")).toHaveLength(3);
    expect(svg).toContain('x1="219.0" y1="14" x2="219.0"');
    expect(svg).toContain("selected epoch 2");
    const withoutSelection = await renderTestReport(fakeReportInput({ normal: 2, anomalous: 2, size: 16 }));
    expect(withoutSelection).not.toContain("Model selection");
  });

  it("renders a full test report: FP/FN first, n/a pixel metrics, capped grid, no network", async () => {
    const input = fakeReportInput({ normal: 30, anomalous: 30, size: 32 });
    input.metrics.pixel_auroc = null;
    input.metrics.aupro = null;
    input.images[0].path = "/data/<script>.png";
    input.images[0].score = 10;
    input.images[0].predictedLabel = 1;
    const html = await renderTestReport(input);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toContain("<script>.png");
    expect(html).toContain("&lt;script&gt;.png");
    expect(html).toContain("99th percentile of 20 normal validation scores");
    expect(html).toMatch(/<td>pixel AUROC<\/td><td class="num na">n\/a<\/td><td class="note">no pixel masks/);
    expect(html).toMatch(
      /<td>AUPRO \(FPR ≤ 0.3\)<\/td><td class="num na">n\/a<\/td><td class="note">no pixel masks/,
    );
    const names = tileNames(html);
    expect(names).toHaveLength(48);
    expect(html).toContain("12 more images are not shown here");
    const byPath = new Map(input.images.map((i) => [i.path, i]));
    const shown = names.map((n) => byPath.get(n.replace("&lt;", "<").replace("&gt;", ">"))!);
    const outcomes = shown.map((i) => `${i.label}${i.predictedLabel}`);
    const firstOther = outcomes.findIndex((o) => o !== "01" && o !== "10");
    expect(outcomes.slice(firstOther).every((o) => o === "11" || o === "00")).toBe(true);
    const fp = shown.filter((i) => i.label === 0 && i.predictedLabel === 1).map((i) => i.score);
    const fn = shown.filter((i) => i.label === 1 && i.predictedLabel === 0).map((i) => i.score);
    expect(fp.length).toBeGreaterThan(1);
    expect(fn.length).toBeGreaterThan(1);
    expect(outcomes.slice(0, fp.length).every((o) => o === "01")).toBe(true);
    expect(fp).toEqual([...fp].sort((a, b) => b - a));
    expect(fn).toEqual([...fn].sort((a, b) => a - b));
    expect(names[0]).toBe("/data/&lt;script&gt;.png");
  });
});

describe("files", () => {
  const folders: string[] = [];
  afterAll(async () => {
    for (const f of folders) await rm(f, { recursive: true, force: true });
  });

  it("writes decodable overlay PNGs with unique names and report.html", async () => {
    const out = await mkdtemp(join(tmpdir(), "report-"));
    folders.push(out);
    const input = fakeReportInput({ normal: 3, anomalous: 3, size: 40, channels: 3 });
    input.images[4].path = "/elsewhere/good/000.png";
    const files = await writeOverlayPngs(input, join(out, "overlays"));
    expect(files.map((f) => basename(f))).toContain("000_overlay_2.png");
    expect(new Set(files).size).toBe(6);
    expect((await readdir(join(out, "overlays"))).sort()).toEqual(files.map((f) => basename(f)).sort());
    for (const file of files) {
      const meta = await sharp(file).metadata();
      expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(["png", 84, 40, 3]);
    }
    const report = await writeReport(input, out);
    expect(report).toBe(join(out, "report.html"));
    const html = await readFile(report, "utf8");
    expect(html.match(/<img src="data:image\/png;base64,/g)).toHaveLength(6);
    expect(await readdir(out)).toEqual(expect.arrayContaining(["overlays", "report.html"]));
    expect((await readdir(out)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});
