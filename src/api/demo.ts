/**
 * `demo`: the whole pipeline on data the package makes itself — a synthetic industrial texture set,
 * the AE baseline trained for a few minutes on 2 cores, evaluation on the synthetic test split, and
 * the HTML report. No network and no outside data. A second demo into the same folder replaces the
 * first one's data, model and report (the folders it owns).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { generateDataset } from "../synth/index.js";
import { train } from "../train/trainer.js";
import { type TestResult, testModel } from "./test.js";

export interface DemoOptions {
  out: string;
  epochs?: number;
  quiet?: boolean;
}

export const DEMO_SETTINGS = {
  kind: "industrial",
  texture: "woven",
  nTrain: 200,
  nTest: 60,
  size: 128,
  epochs: 20,
  method: "ae",
} as const;

export async function runDemo(options: DemoOptions): Promise<TestResult & { modelDir: string }> {
  const dataDir = join(options.out, "data");
  const modelDir = join(options.out, "model");
  const log = (line: string) => {
    if (!options.quiet) process.stderr.write(`${line}\n`);
  };
  log(`demo: writing a synthetic ${DEMO_SETTINGS.texture} texture data set to ${dataDir}`);
  await generateDataset({
    out: dataDir,
    kind: DEMO_SETTINGS.kind,
    texture: DEMO_SETTINGS.texture,
    nTrain: DEMO_SETTINGS.nTrain,
    nTest: DEMO_SETTINGS.nTest,
    size: DEMO_SETTINGS.size,
    seed: 0,
    overwrite: existsSync(join(dataDir, "synth.json")),
  });
  log(`demo: training the ${DEMO_SETTINGS.method} baseline`);
  await train({
    data: dataDir,
    method: DEMO_SETTINGS.method,
    epochs: options.epochs ?? DEMO_SETTINGS.epochs,
    imageSize: DEMO_SETTINGS.size,
    out: modelDir,
    overwrite: true,
    quiet: options.quiet,
  });
  log("demo: testing");
  const result = await testModel({
    model: modelDir,
    data: dataDir,
    out: join(options.out, "report"),
    overwrite: true,
  });
  return { ...result, modelDir };
}
