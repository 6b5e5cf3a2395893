/** Report rendering: overlays (PNG) and the self-contained HTML report. */
import { encodePng, type Image, writePng } from "../io/index.js";
import { overlayPanel } from "./colormap.js";

export { contour, drawContour, overlay, overlayPanel, turbo } from "./colormap.js";
export {
  escapeHtml,
  histogramSvg,
  orderTiles,
  type ReportInput,
  type ReportMetric,
  type ReportTile,
  renderReport,
  rocSvg,
} from "./html.js";

/** Write the overlay panel of one image (original | overlay with contours) as a PNG. */
export async function writeOverlay(
  path: string,
  image: Image,
  normalizedMap: ArrayLike<number>,
  predictedMask: ArrayLike<number> | null,
  groundTruth: ArrayLike<number> | null = null,
): Promise<void> {
  await writePng(path, overlayPanel(image, normalizedMap, predictedMask, groundTruth));
}

/** The overlay panel as a PNG data URI, for the HTML report. */
export async function overlayDataUri(
  image: Image,
  normalizedMap: ArrayLike<number>,
  predictedMask: ArrayLike<number> | null,
  groundTruth: ArrayLike<number> | null,
): Promise<string> {
  const png = await encodePng(overlayPanel(image, normalizedMap, predictedMask, groundTruth));
  return `data:image/png;base64,${Buffer.from(png).toString("base64")}`;
}
