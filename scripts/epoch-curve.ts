/**
 * AUROC after every epoch of a finished run, from epoch checkpoints copied aside while it trained
 * (runs/<name>/epochs/*.safetensors, each a trainer checkpoint: `model.`-prefixed weights and buffers,
 * optimiser state, trainer metadata with the completed epochs). Each checkpoint's weights are put in a
 * copy of the run's final model directory and scored on the test split; the result goes to
 * docs/experiments/curves/<name>.json.
 *
 * An analysis of whether more epochs would help (and, for a run with `--select`, where the oracle best
 * test epoch lies against the selected one), never a selection: the reported model of a run is its last
 * epoch, or the epoch its `--select` criterion chose on validation data. Used where the data has no labelled validation images
 * (ZhangLab here: the subset ships no training pneumonia images). A checkpoint holds the untrained
 * defaults of statistics a method takes over the training images when training finishes (SQUID's logit
 * µ/σ, DAAD's standardisation of its score mix), so each checkpoint's statistics are recomputed for its
 * own weights (`refitTrainingStatistics`) before it is scored, as the trainer does for its final model.
 *
 *   npx tsx scripts/epoch-curve.ts --name zhanglab-squid-s2 --data ../shared/data/medical/chest_xray_zhanglab
 *
 * `--at-seconds S` scores one checkpoint only: the last epoch whose cumulative training wall time (the
 * sum of the trainer's per-epoch seconds, validation passes included) is at most S. That is the model
 * the run would have had with another method's wall-clock budget — the "same wall-clock budget"
 * comparison of docs/results.md, decided by time alone, never by a test score. It goes to
 * docs/experiments/curves/<name>-at<S>s.json with all test metrics.
 *
 *   npx tsx scripts/epoch-curve.ts --name lgg-mamanet-s0 --data ../shared/data/medical/lgg_brain_mri --at-seconds 366
 *
 * `--epoch N` likewise scores the checkpoint after epoch N only (…/<name>-epoch<N>.json): the run at the
 * epochs of a shorter ablation run.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readSafetensors, writeSafetensors } from "../src/engine/index.js";
import "../src/methods/index.js";
import { evaluate } from "../src/score/evaluate.js";
import { refitTrainingStatistics } from "../src/train/trainer.js";

const { values } = parseArgs({
  options: {
    name: { type: "string" },
    data: { type: "string" },
    "at-seconds": { type: "string" },
    epoch: { type: "string" },
  },
});
if (!values.name || !values.data) throw new Error("--name and --data are required");
const budget = values["at-seconds"] === undefined ? undefined : Number(values["at-seconds"]);
if (budget !== undefined && !(budget > 0)) throw new Error("--at-seconds must be a positive number");
const onlyEpoch = values.epoch === undefined ? undefined : Number(values.epoch);
if (onlyEpoch !== undefined && !Number.isInteger(onlyEpoch)) throw new Error("--epoch must be an integer");
if (budget !== undefined && onlyEpoch !== undefined)
  throw new Error("--at-seconds and --epoch exclude each other");
const single = budget !== undefined || onlyEpoch !== undefined;
const run = join("runs", values.name);
const checkpoints: Array<{ file: string; epoch: number; seconds: number }> = [];
for (const file of readdirSync(join(run, "epochs")).filter((f) => f.endsWith(".safetensors"))) {
  const { metadata } = await readSafetensors(join(run, "epochs", file));
  const trainer = JSON.parse(metadata.trainer);
  const history = trainer.history as Array<{ seconds: number }>;
  const seconds = history.reduce((sum, record) => sum + record.seconds, 0);
  checkpoints.push({ file, epoch: trainer.completedEpochs as number, seconds });
}
checkpoints.sort((a, b) => a.epoch - b.epoch);
const chosen =
  budget !== undefined
    ? checkpoints.filter((c) => c.seconds <= budget).slice(-1)
    : onlyEpoch !== undefined
      ? checkpoints.filter((c) => c.epoch === onlyEpoch)
      : checkpoints;
if (chosen.length === 0)
  throw new Error(
    budget !== undefined
      ? `no epoch of ${values.name} finished within ${budget} s`
      : `${values.name} kept no checkpoint of epoch ${onlyEpoch}`,
  );
const curve: Array<{
  epoch: number;
  trainSeconds: number;
  image_auroc: number | null;
  losses: unknown;
  metrics?: unknown;
}> = [];
for (const { file, epoch, seconds } of chosen) {
  const { tensors, metadata } = await readSafetensors(join(run, "epochs", file));
  const trainer = JSON.parse(metadata.trainer);
  const model = join(run, "epoch-models", `epoch-${epoch}`);
  mkdirSync(model, { recursive: true });
  cpSync(join(run, "model", "anomalyscope.json"), join(model, "anomalyscope.json"));
  const weights = Object.fromEntries(
    Object.entries(tensors)
      .filter(([name]) => name.startsWith("model."))
      .map(([name, t]) => [name.slice("model.".length), t]),
  );
  await writeSafetensors(join(model, "model.safetensors"), weights);
  await refitTrainingStatistics(model, values.data);
  const { metrics } = await evaluate({ model, data: values.data });
  curve.push({
    epoch,
    trainSeconds: seconds,
    image_auroc: metrics.image_auroc,
    losses: trainer.history.at(-1)?.losses,
    ...(single ? { metrics } : {}),
  });
  process.stdout.write(`${values.name} epoch ${epoch}: image AUROC ${metrics.image_auroc?.toFixed(4)}\n`);
}
curve.sort((a, b) => a.epoch - b.epoch);
const selection = JSON.parse(readFileSync(join(run, "model", "anomalyscope.json"), "utf8")).selection;
const reported =
  selection && selection.criterion !== "last"
    ? `the run's reported model is epoch ${selection.selectedEpoch}, chosen by --select ${selection.criterion} on validation data`
    : "the run's reported model is its last epoch";
mkdirSync(join("docs/experiments", "curves"), { recursive: true });
writeFileSync(
  join(
    "docs/experiments",
    "curves",
    `${values.name}${budget !== undefined ? `-at${budget}s` : onlyEpoch !== undefined ? `-epoch${onlyEpoch}` : ""}.json`,
  ),
  `${JSON.stringify(
    {
      name: values.name,
      command: `npx tsx scripts/epoch-curve.ts ${process.argv.slice(2).join(" ")}`,
      date: new Date().toISOString(),
      data: values.data,
      note:
        budget !== undefined
          ? `the run's model at a wall-clock budget of ${budget} s: the last epoch whose cumulative training time is at most that, chosen by time alone`
          : onlyEpoch !== undefined
            ? `the run's model after epoch ${onlyEpoch} (fixed in advance, to compare with runs of that many epochs)`
            : `test AUROC of each epoch checkpoint of the run, for analysis only (never used to choose); ${reported}`,
      curve,
    },
    null,
    2,
  )}\n`,
);
