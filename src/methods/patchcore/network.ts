/**
 * PatchCore's networks and graphs (Roth et al. CVPR 2022, §3; anomalib `PatchcoreModel`):
 * - `embed`: the frozen pretrained backbone's taps turned into locally aware patch features
 *   N×D×h×w (src/nn/blocks/patch-features.ts);
 * - `patchRows`: the same as (N·h·w)×D rows, what the training pass collects;
 * - `score`: every patch's distance to its nearest bank row (src/nn/nearest-neighbour.ts, bank
 *   chunked), the patch map N×1×h×w, and the image score: the largest patch distance s*, or with
 *   `reweightNeighbours` b > 1 the paper's eq. 7 as anomalib computes it: s = (1 − softmax(‖m_test,* −
 *   m‖ over the b bank rows m nearest to m*)[m*]) · s*, m_test,* the patch of s*, m* its nearest row.
 * The bank is a resizable buffer of `MemoryBank`, saved in the model's safetensors as
 * `bank.features`.
 */
import type { Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import { Module, type Parameter } from "../../engine/index.js";
import { type FeatureBackbone, getBackbone, loadBackbone } from "../../nn/backbones/index.js";
import { nearestNeighbour, patchFeatures, squaredDistances } from "../../nn/index.js";
import type { PatchCoreConfig } from "./config.js";

/** The memory bank: rows of patch features (M×D), its size set when fitted or loaded. */
export class MemoryBank extends Module {
  readonly features: Parameter;

  constructor(width: number) {
    super();
    // A one-row placeholder until the training pass (or the saved model) sets the bank.
    this.features = this.resizableBuffer("features", [1, width], new Float32Array(width));
    this.eval();
  }

  override train(_mode = true): this {
    return super.train(false);
  }

  set(rows: Float32Array): void {
    const width = this.features.shape[1];
    this.features.resize([rows.length / width, width], rows);
  }

  tensor(): Tensor {
    return this.use(this.features);
  }
}

export interface PatchScores {
  /** Patch distances N×1×h×w. */
  map: Tensor;
  /** Image scores N. */
  imageScore: Tensor;
}

export class PatchCoreNetworks {
  readonly backbone: FeatureBackbone;
  readonly bank: MemoryBank;
  readonly taps: string[];
  /** Width D of a patch feature. */
  readonly width: number;
  /** Side of the patch grid. */
  readonly grid: number;

  constructor(
    readonly config: PatchCoreConfig,
    imageSize: number,
  ) {
    const backbone = getBackbone(config.backbone);
    this.taps = config.taps.map((t) => backbone.taps[t]);
    this.width = config.embeddingWidth ?? config.taps.reduce((sum, t) => sum + backbone.tapWidths[t], 0);
    this.grid = imageSize / (4 * 2 ** config.taps[0]);
    this.backbone = loadBackbone(config.backbone);
    this.bank = new MemoryBank(this.width);
  }

  embed(images: Tensor): Tensor {
    const maps = this.backbone.features(images, this.taps).map((t) => T.stopGradient(t));
    return patchFeatures(maps, {
      neighbourhood: this.config.neighbourhood,
      width: this.config.embeddingWidth,
    });
  }

  /** Patch feature rows (N·h·w)×D, image-major, row-major over the grid. */
  patchRows(images: Tensor): Tensor {
    const f = this.embed(images);
    const [n, d, h, w] = f.shape;
    return T.reshape(T.transpose(f, [0, 2, 3, 1]), [n * h * w, d]);
  }

  score(images: Tensor): PatchScores {
    const rows = this.patchRows(images);
    const n = images.shape[0];
    const patches = this.grid * this.grid;
    const bank = this.bank.tensor();
    const b = Math.min(this.config.reweightNeighbours, bank.shape[0]);
    const nearest = nearestNeighbour(rows, bank, { chunkRows: this.config.chunkRows, withIndex: b > 1 });
    const distances = T.reshape(nearest.distance, [n, patches]);
    const map = T.reshape(distances, [n, 1, this.grid, this.grid]);
    const largest = T.max(distances, 1);
    if (b <= 1 || !nearest.index) return { map, imageScore: largest };
    // Eq. 7: m_test,* (the patch of the largest distance), m* (its nearest row), N_b(m*).
    const offsets = T.constant(
      Array.from({ length: n }, (_, i) => i * patches),
      [n],
      "int64",
    );
    const worst = T.add(T.argMax(distances, 1), offsets);
    const worstFeatures = T.gather(rows, worst, 0);
    const mStar = T.gather(bank, T.gather(nearest.index, worst, 0), 0);
    const support = T.topK(squaredDistances(mStar, bank), b, 1, false).indices;
    const supportRows = T.reshape(T.gather(bank, T.reshape(support, [n * b]), 0), [n, b, this.width]);
    const diff = T.sub(T.reshape(worstFeatures, [n, 1, this.width]), supportRows);
    const supportDistances = T.sqrt(T.sum(T.mul(diff, diff), 2));
    const weight = T.sub(
      1,
      T.reshape(T.slice(T.softmax(supportDistances, 1), [{ axis: 1, start: 0, end: 1 }]), [n]),
    );
    return { map, imageScore: T.mul(weight, largest) };
  }
}
