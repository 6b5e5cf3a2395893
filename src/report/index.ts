/**
 * Report rendering: heat-map overlays (PNG files and inline thumbnails) and the self-contained HTML
 * report. `writeOverlayPngs` + `writeReport` take a `TestReportInput` (everything computed by `test`);
 * `renderReport` renders an already-built page model (`ReportInput`).
 */
export {
  contour,
  cssColour,
  downscale,
  drawContour,
  GROUND_TRUTH_COLOUR,
  inferno,
  luminance,
  mapRange,
  normalizeMap,
  type OverlayOptions,
  overlay,
  overlayPanel,
  type PanelOptions,
  PREDICTED_COLOUR,
  type Rgb,
  toRgb,
} from "./colormap.js";
export {
  buildReportPage,
  colourBarSvg,
  escapeHtml,
  formatNumber,
  GRID_LIMIT,
  histogramSvg,
  niceTicks,
  type Outcome,
  orderTiles,
  outcome,
  renderReport,
  renderTestReport,
  rocSvg,
  selectionCurveSvg,
  writeReport,
} from "./html.js";
export {
  overlayDataUri,
  overlayFileName,
  reportMapRange,
  writeOverlay,
  writeOverlayPngs,
} from "./overlays.js";
export type {
  MapRange,
  ReportInput,
  ReportMetric,
  ReportMetrics,
  ReportSelection,
  ReportTile,
  SelectionCurvePoint,
  TestReportImage,
  TestReportInput,
} from "./types.js";
