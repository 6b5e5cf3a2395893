/**
 * Visual check of the report: `npx tsx test/report/render-demo.ts <outDir> [grey|rgb] [normal] [anomalous] [size]`
 * writes the overlay PNGs and report.html for the synthetic fixture; open or screenshot it with a browser.
 */
import { join } from "node:path";
import { writeOverlayPngs, writeReport } from "../../src/report/index.js";
import { fakeReportInput } from "./fixture.js";

const [outDir = "/tmp/report-demo", colour = "grey", normal = "24", anomalous = "24", size = "128"] =
  process.argv.slice(2);
const input = fakeReportInput({
  channels: colour === "rgb" ? 3 : 1,
  normal: Number(normal),
  anomalous: Number(anomalous),
  size: Number(size),
});
const overlays = await writeOverlayPngs(input, join(outDir, "overlays"));
const report = await writeReport(input, outDir, join(outDir, "overlays"));
process.stdout.write(`${overlays.length} overlays in ${join(outDir, "overlays")}\n${report}\n`);
