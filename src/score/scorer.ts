/**
 * Runs the scoring graph (graph.ts) on batches (one compiled function; a last partial batch compiles
 * a second shape) and streams a list of samples through it.
 */

import { batches, type Sample } from "../data/index.js";
import type { Tensor } from "../engine/index.js";
import { CompiledFunction, compileFunction } from "../engine/step.js";
import type { MethodInstance, ScoringDefaults } from "../methods/contract.js";
import { buildScoring, type Calibration } from "./graph.js";

export interface ScoredBatch {
  scores: Float32Array;
  /** N·H·W raw maps at the input size. */
  maps: Float32Array;
  normalizedScores?: Float32Array;
  labels?: Uint8Array;
  normalizedMaps?: Float32Array;
  masks?: Uint8Array;
}

export class Scorer {
  private compiled: Promise<CompiledFunction> | undefined;

  constructor(
    private readonly instance: MethodInstance,
    private readonly scoring: ScoringDefaults,
    readonly imageSize: number,
    readonly channels: number,
    private readonly calibration?: Calibration,
  ) {}

  private compile(n: number): Promise<CompiledFunction> {
    this.compiled ??= compileFunction(this.functionOptions(n));
    return this.compiled;
  }

  private functionOptions(n: number) {
    return {
      name: "score",
      modules: Object.values(this.instance.modules),
      inputs: { images: { shape: [n, this.channels, this.imageSize, this.imageSize] } },
      build: ({ images }: { images: Tensor }) => {
        const out = buildScoring(this.instance, this.scoring, images, this.calibration);
        const outputs: Record<string, Tensor> = { score: out.score, map: out.map };
        if (out.normalizedScore) outputs.normalizedScore = out.normalizedScore;
        if (out.label) outputs.label = out.label;
        if (out.normalizedMap) outputs.normalizedMap = out.normalizedMap;
        if (out.mask) outputs.mask = out.mask;
        return outputs;
      },
    };
  }

  /**
   * The scoring graph that `scoreBatch` runs (frozen weights, the same folds) as ONNX with a symbolic
   * batch axis; `outputs` chooses and renames outputs (ScoredBatch names without the plural: score,
   * map, normalizedScore, label, normalizedMap, mask) and `input` names the image input.
   */
  exportOnnx(input: string, outputs: Record<string, string>): Uint8Array {
    for (const module of Object.values(this.instance.modules)) module.eval();
    return new CompiledFunction(this.functionOptions(1)).exportOnnx({ inputs: { images: input }, outputs });
  }

  /** Score N images (N·C·H·W in [0,1]); the modules are put in evaluation mode. */
  async scoreBatch(images: Float32Array, n: number): Promise<ScoredBatch> {
    for (const module of Object.values(this.instance.modules)) module.eval();
    const fn = await this.compile(n);
    const out = await fn.run({ images });
    return {
      scores: out.score as Float32Array,
      maps: out.map as Float32Array,
      normalizedScores: out.normalizedScore as Float32Array | undefined,
      labels: out.label as Uint8Array | undefined,
      normalizedMaps: out.normalizedMap as Float32Array | undefined,
      masks: out.mask as Uint8Array | undefined,
    };
  }

  async dispose(): Promise<void> {
    if (this.compiled) await (await this.compiled).release();
    this.compiled = undefined;
  }
}

export interface ScoredSample {
  sample: Sample;
  score: number;
  /** The preprocessed image as the model saw it (C·H·W in [0,1]). */
  image: Float32Array;
  /** H·W raw map at the input size. */
  map: Float32Array;
  /** H·W ground-truth mask (1 anomalous) when requested and available, else null. */
  mask: Float32Array | null;
  normalizedScore?: number;
  label?: number;
  normalizedMap?: Float32Array;
  predictedMask?: Uint8Array;
}

/** Score every sample, streaming batches; `onSample` receives each result in order. */
export async function scoreSamples(
  scorer: Scorer,
  samples: readonly Sample[],
  options: { batchSize: number; withMasks: boolean; onWarning?: (message: string) => void },
  onSample: (result: ScoredSample) => void | Promise<void>,
): Promise<void> {
  const plane = scorer.imageSize * scorer.imageSize;
  for await (const batch of batches(samples, {
    batchSize: options.batchSize,
    size: scorer.imageSize,
    channels: scorer.channels,
    shuffle: false,
    seed: 0,
    dropLast: false,
    withMasks: options.withMasks,
    onWarning: options.onWarning,
  })) {
    const n = batch.samples.length;
    const out = await scorer.scoreBatch(batch.images, n);
    for (let i = 0; i < n; i++) {
      await onSample({
        sample: batch.samples[i],
        score: out.scores[i],
        image: batch.images.slice(i * scorer.channels * plane, (i + 1) * scorer.channels * plane),
        map: out.maps.slice(i * plane, (i + 1) * plane),
        mask:
          batch.masks && batch.samples[i].maskPaths.length > 0
            ? batch.masks.slice(i * plane, (i + 1) * plane)
            : null,
        normalizedScore: out.normalizedScores?.[i],
        label: out.labels?.[i],
        normalizedMap: out.normalizedMaps?.slice(i * plane, (i + 1) * plane),
        predictedMask: out.masks?.slice(i * plane, (i + 1) * plane),
      });
    }
  }
}
