/** The list of CLI verbs. Add a verb by writing `commands/<verb>.ts` and listing its `register` here. */
import type { Command } from "commander";
import { registerInfo } from "./info.js";
import { registerSynth } from "./synth.js";
import { registerTrain } from "./train.js";

export const commands: Array<(program: Command) => void> = [registerInfo, registerSynth, registerTrain];
