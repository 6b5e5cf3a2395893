/**
 * Overlay PNGs: one `<stem>_overlay.png` per test image (original | heat-map overlay with the
 * ground-truth and predicted-mask contours, at full resolution), written atomically; stems that repeat
 * (e.g. `good/000.png` and `crack/000.png`) get numbered names. Also the same panel as a PNG data URI
 * for the HTML report.
 */
import { basename, extname, join } from "node:path";
import type { Image } from "../io/image.js";
import { encodePng, writePng } from "../io/png.js";
import { mapRange, overlayPanel, type PanelOptions } from "./colormap.js";
import type { MapRange, TestReportInput } from "./types.js";

/** `<stem>_overlay.png`, or `<stem>_overlay_<k>.png` (k = 2, 3, …) when the name is already in `used`. */
export function overlayFileName(path: string, used: Set<string>): string {
  const stem = basename(path, extname(path)) || "image";
  let name = `${stem}_overlay.png`;
  for (let k = 2; used.has(name); k++) name = `${stem}_overlay_${k}.png`;
  used.add(name);
  return name;
}

/** The colour range shared by every overlay of a report (see `mapRange`). */
export function reportMapRange(input: TestReportInput): MapRange {
  const normal = input.images.filter((i) => i.label === 0);
  return mapRange(
    (normal.length > 0 ? normal : input.images).map((i) => i.anomalyMap),
    input.threshold.pixel,
  );
}

/**
 * Write one overlay PNG per image of `input` into `outDir` (created when missing); returns the file
 * paths in the order of `input.images`. All overlays share one colour range (`reportMapRange`).
 */
export async function writeOverlayPngs(
  input: TestReportInput,
  outDir: string,
  range: MapRange = reportMapRange(input),
): Promise<string[]> {
  const used = new Set<string>();
  const files: string[] = [];
  for (const item of input.images) {
    const file = join(outDir, overlayFileName(item.path, used));
    await writePng(file, overlayPanel(item.image, item.anomalyMap, item.predictedMask, item.mask, { range }));
    files.push(file);
  }
  return files;
}

/** Write the overlay panel of one image (original | overlay with contours) as a PNG. */
export async function writeOverlay(
  path: string,
  image: Image,
  map: ArrayLike<number>,
  predictedMask: ArrayLike<number> | null,
  groundTruth: ArrayLike<number> | null = null,
  options: PanelOptions = {},
): Promise<void> {
  await writePng(path, overlayPanel(image, map, predictedMask, groundTruth, options));
}

/**
 * Longest side of each half of an HTML thumbnail: tiles are shown about 150 CSS px wide per half, and
 * 48 tiles of 2 × 192² RGB pixels keep a report of photographs within a few megabytes.
 */
export const THUMBNAIL_SIDE = 192;

/** The overlay panel as a PNG data URI, for the HTML report (halves of at most `THUMBNAIL_SIDE` px by default). */
export async function overlayDataUri(
  image: Image,
  map: ArrayLike<number>,
  predictedMask: ArrayLike<number> | null,
  groundTruth: ArrayLike<number> | null,
  options: PanelOptions = {},
): Promise<string> {
  const png = await encodePng(
    overlayPanel(image, map, predictedMask, groundTruth, { maxSide: THUMBNAIL_SIDE, ...options }),
  );
  return `data:image/png;base64,${Buffer.from(png).toString("base64")}`;
}
