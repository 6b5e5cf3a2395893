/** The list of CLI verbs. Add a verb by writing `commands/<verb>.ts` and listing its `register` here. */
import type { Command } from "commander";
import { registerDemo } from "./demo.js";
import { registerExport } from "./export.js";
import { registerInfo } from "./info.js";
import { registerPredict } from "./predict.js";
import { registerSynth } from "./synth.js";
import { registerTest } from "./test.js";
import { registerTrain } from "./train.js";

export const commands: Array<(program: Command) => void> = [
  registerDemo,
  registerTrain,
  registerTest,
  registerPredict,
  registerExport,
  registerSynth,
  registerInfo,
];
