/** Report rendering: contours, colours, tile order, escaping, self-containment, n/a values, ROC path. */
import { describe, expect, it } from "vitest";
import { createImage } from "../../src/io/image.js";
import {
  contour,
  orderTiles,
  overlay,
  type ReportInput,
  type ReportTile,
  renderReport,
  rocSvg,
  turbo,
} from "../../src/report/index.js";

const tile = (path: string, label: 0 | 1, predictedLabel: 0 | 1, score: number): ReportTile => ({
  path,
  label,
  predictedLabel,
  score,
  normalizedScore: 0.5,
  panel: "data:image/png;base64,AAAA",
});

function input(overrides: Partial<ReportInput> = {}): ReportInput {
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

describe("overlays", () => {
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

  it("turbo goes from blue to red and overlay colours high values more than low ones", () => {
    const [r0, , b0] = turbo(0.15);
    const [r1, , b1] = turbo(0.95);
    expect(b0).toBeGreaterThan(r0);
    expect(r1).toBeGreaterThan(b1);
    const image = createImage(2, 1, 1);
    image.data.fill(0.5);
    const out = overlay(image, [0, 1]);
    const changeAt = (i: number) =>
      Math.abs(out.data[i] - 0.5) + Math.abs(out.data[2 + i] - 0.5) + Math.abs(out.data[4 + i] - 0.5);
    expect(changeAt(1)).toBeGreaterThan(3 * changeAt(0));
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
    const html = renderReport(input({ tiles: [tile("<script>alert(1)</script>.png", 1, 1, 0.9)] }));
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;.png");
    expect(html).toMatch(/<td>pixel AUROC<\/td><td class="num">n\/a<\/td><td class="note">no pixel masks/);
    expect(html).toContain("99th percentile of 20 normal validation images");
  });

  it("draws the ROC polyline from (0,0) to (1,1)", () => {
    const svg = rocSvg({ fpr: [0, 0.25, 1], tpr: [0, 0.75, 1] });
    const points = /points="([^"]+)"/.exec(svg)![1].split(" ");
    expect(points[0]).toBe("46.0,222.0");
    expect(points.at(-1)).toBe("348.0,12.0");
  });
});
