/**
 * anomalyscope as a library for Node services: train, load, predict, evaluate and export the same way
 * the CLI does.
 *
 * ```ts
 * import { loadModel, train } from "anomalyscope";
 * await train({ data: "data/bottle", method: "ae", epochs: 20, out: "models/bottle" });
 * const model = await loadModel("models/bottle");
 * const { score, normalizedScore, label, anomalyMap } = await model.predict("part.png");
 * await model.close();
 * ```
 */
import "./methods/index.js";

export { runDemo } from "./api/demo.js";
export { exportModel } from "./api/export.js";
export { AnomalyModel, type ImageInput, loadModel, ModelClosedError, type Prediction } from "./api/model.js";
export { predictFiles } from "./api/predict.js";
export { type TestOptions, type TestResult, testModel as evaluate } from "./api/test.js";
export { InterruptedError, MemoryLimitError, OptionError, UserError } from "./errors.js";
export { decodeImage, type Image, readImage, readSlices, writePng } from "./io/index.js";
export { getMethod, methodNames } from "./methods/index.js";
export { generateDataset, type PastedDefectKind, pastedDefectKinds } from "./synth/index.js";
export {
  type SelectionCriterion,
  selectionCriteria,
  type ThresholdRule,
  thresholdRules,
} from "./train/selection.js";
export { TrainingDivergedError, type TrainOptions, type TrainResult, train } from "./train/trainer.js";
