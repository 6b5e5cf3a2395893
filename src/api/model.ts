/**
 * The library's model handle: `loadModel(dir)` returns an `AnomalyModel` whose `predict` scores one
 * image (a path, the bytes of an image file, or a decoded `Image`) or many, with the model's
 * preprocessing, scoring graph and calibrated threshold — the same numbers as `anomalyscope predict`
 * and the exported ONNX file. Loading refuses a model whose scoring would not fit in memory
 * (`LoadModelOptions`); using a model after `close()` throws `ModelClosedError`.
 */
import { preprocessImage } from "../data/preprocess.js";
import { UserError } from "../errors.js";
import type { Image } from "../io/index.js";
import { decodeImage, readImage } from "../io/index.js";
import "../methods/index.js";
import {
  type LoadModelOptions,
  loadModel as loadModelDirectory,
  type ModelManifest,
} from "../model/directory.js";
import { Scorer } from "../score/scorer.js";

export interface Prediction {
  /** Raw image score (higher = more anomalous). */
  score: number;
  /** Score mapped to [0, 1] with the model's threshold at 0.5. */
  normalizedScore: number;
  /** true = anomalous (score ≥ threshold). */
  label: boolean;
  /** Normalised anomaly map at the model's input size (threshold at 0.5), row-major. */
  anomalyMap: Float32Array;
  /** Raw anomaly map at the model's input size. */
  rawMap: Float32Array;
  /** Predicted mask (1 anomalous) at the model's input size. */
  mask: Uint8Array;
  width: number;
  height: number;
}

/** An `AnomalyModel` was used after `close()`. */
export class ModelClosedError extends UserError {
  override name = "ModelClosedError";
}

/** What `predict` accepts: a file path, the bytes of an image file, or a decoded image. */
export type ImageInput = string | Uint8Array | Image;

export class AnomalyModel {
  private closed = false;

  private constructor(
    readonly manifest: ModelManifest,
    private readonly scorer: Scorer,
    private readonly dir: string,
  ) {}

  static async load(dir: string, options: LoadModelOptions = {}): Promise<AnomalyModel> {
    const { manifest, instance, calibration } = await loadModelDirectory(dir, options);
    return new AnomalyModel(
      manifest,
      new Scorer(instance, manifest.scoring, manifest.imageSize, manifest.channels, calibration),
      dir,
    );
  }

  private checkOpen(): void {
    if (this.closed)
      throw new ModelClosedError(`${this.dir}: the model was closed; load it again to predict`);
  }

  /** Preprocess one image as training did (resize with sharp's cubic kernel, channel conversion). */
  async preprocess(input: ImageInput): Promise<Image> {
    const image =
      typeof input === "string"
        ? await readImage(input)
        : input instanceof Uint8Array
          ? await decodeImage("<buffer>", input)
          : input;
    if (!image || !(image.data instanceof Float32Array))
      throw new UserError(
        `predict: expected a file path, the bytes of an image file or a decoded Image, got ${image === null ? "null" : typeof image}`,
      );
    return preprocessImage(image, { size: this.manifest.imageSize, channels: this.manifest.channels });
  }

  async predict(input: ImageInput): Promise<Prediction> {
    const [prediction] = await this.predictMany([input]);
    return prediction;
  }

  /** Score several images in one batch. */
  async predictMany(inputs: ReadonlyArray<ImageInput>): Promise<Prediction[]> {
    this.checkOpen();
    const size = this.manifest.imageSize;
    const perImage = this.manifest.channels * size * size;
    const batch = new Float32Array(inputs.length * perImage);
    for (let i = 0; i < inputs.length; i++) batch.set((await this.preprocess(inputs[i])).data, i * perImage);
    return this.predictPreprocessed(batch, inputs.length);
  }

  /** Score an already preprocessed batch (N·C·H·W in [0,1] at the model's size). */
  async predictPreprocessed(batch: Float32Array, n: number): Promise<Prediction[]> {
    this.checkOpen();
    const size = this.manifest.imageSize;
    const plane = size * size;
    const out = await this.scorer.scoreBatch(batch, n);
    return Array.from({ length: n }, (_, i) => ({
      score: out.scores[i],
      normalizedScore: out.normalizedScores![i],
      label: out.labels![i] === 1,
      anomalyMap: out.normalizedMaps!.slice(i * plane, (i + 1) * plane),
      rawMap: out.maps.slice(i * plane, (i + 1) * plane),
      mask: out.masks!.slice(i * plane, (i + 1) * plane),
      width: size,
      height: size,
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.scorer.dispose();
  }
}

export function loadModel(dir: string, options: LoadModelOptions = {}): Promise<AnomalyModel> {
  return AnomalyModel.load(dir, options);
}
