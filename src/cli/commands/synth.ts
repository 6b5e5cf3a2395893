/** `anomalyscope synth`: write a synthetic anomaly-detection data set (industrial, object or medical). */
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { OptionError } from "../../errors.js";
import {
  generateDataset,
  type IndustrialTexture,
  industrialTextures,
  type SynthKind,
  type SynthLayout,
  synthKinds,
  synthLayouts,
} from "../../synth/index.js";

interface SynthFlags {
  out?: string;
  kind: string;
  texture?: string;
  nTrain: string;
  nTest: string;
  size: string;
  channels: string;
  seed: string;
  layout: string;
  overwrite?: boolean;
}

function integerOption(flag: string, value: string): number {
  if (!/^\+?\d+$/.test(value.trim()))
    throw new OptionError(`${flag} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

export function registerSynth(program: Command): void {
  program
    .command("synth")
    .description(
      "Write a synthetic data set: normal training images, normal and anomalous test images (about half " +
        "anomalous) and defect masks, in the MVTec or BMAD layout, plus synth.json. Same seed, same bytes.",
    )
    .option("--out <dir>", "output folder (must be empty or missing)")
    .option(
      "--kind <kind>",
      `industrial texture, object from above, or brain slice (${synthKinds.join("|")})`,
      "industrial",
    )
    .option(
      "--texture <family>",
      `industrial texture family (${industrialTextures.join("|")}; default woven)`,
    )
    .option("--n-train <n>", "normal training images", "200")
    .option("--n-test <n>", "test images, about half anomalous", "60")
    .option("--size <px>", "image side in pixels (at least 32)", "128")
    .option("--channels <c>", "1 (grey) or 3 (RGB)", "1")
    .option("--seed <s>", "random seed (0 to 4294967295)", "0")
    .option("--layout <layout>", `folder layout (${synthLayouts.join("|")})`, "mvtec")
    .option("--overwrite", "replace an earlier synthetic data set in --out")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  $ anomalyscope synth --out data/synth --kind medical --layout bmad\n" +
        "  $ anomalyscope synth --out data/wood --kind industrial --texture wood --channels 3 --seed 7\n" +
        "  $ anomalyscope synth --out data/nuts --kind object --n-train 100 --n-test 40 --size 64",
    )
    .action(async (flags: SynthFlags) => {
      const channels = integerOption("--channels", flags.channels);
      if (channels !== 1 && channels !== 3)
        throw new OptionError(`--channels must be 1 or 3, got ${channels}`);
      const bar = process.stderr.isTTY
        ? new SingleBar({
            stream: process.stderr,
            format: "synth [{bar}] {value}/{total} images",
            hideCursor: true,
          })
        : undefined;
      let started = false;
      try {
        const summary = await generateDataset({
          out: flags.out ?? "",
          kind: flags.kind as SynthKind,
          texture: flags.texture as IndustrialTexture | undefined,
          nTrain: integerOption("--n-train", flags.nTrain),
          nTest: integerOption("--n-test", flags.nTest),
          size: integerOption("--size", flags.size),
          channels,
          seed: integerOption("--seed", flags.seed),
          layout: flags.layout as SynthLayout,
          overwrite: flags.overwrite ?? false,
          onProgress: (done, total) => {
            if (!bar) return;
            if (!started) bar.start(total, 0);
            started = true;
            bar.update(done);
          },
        });
        bar?.stop();
        const count = (split: Record<string, number> | undefined) =>
          Object.values(split ?? {}).reduce((a, b) => a + b, 0);
        const { train, valid, test } = summary.counts;
        process.stdout.write(
          `wrote ${summary.kind} data set to ${flags.out} (${summary.layout} layout): ` +
            `${count(train)} train, ${valid ? `${count(valid)} valid, ` : ""}${count(test)} test ` +
            `(${count(test) - (test.good ?? 0)} anomalous: ${summary.defects.join(", ")})\n`,
        );
      } catch (error) {
        bar?.stop();
        throw error;
      }
    });
}
