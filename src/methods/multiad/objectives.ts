/**
 * Multi-AD's networks and the graphs traced from them (methods.md §7.3, §7.5), shared by the
 * training steps and inference of index.ts and by the mechanism tests:
 * - `studentObjective`: L_S = L_KD + λ_adv·BCE(D(F̂_S4), 1) (the adversarial term only when λ_adv > 0),
 *   plus the discriminator's views of the teacher's and the student's F4 (detached), which the
 *   discriminator step takes as its inputs;
 * - `discriminatorObjective`: L_D = BCE(D(real), 1) + BCE(D(fake), 0), a graph of D alone;
 * - `anomalyMap`: per-scale 1 − cos maps, upsampled bilinearly to the input side and fused.
 */
import type { Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import { type FeatureBackbone, getBackbone, loadBackbone } from "../../nn/backbones/index.js";
import {
  bceWithLogits,
  cosineDistanceMap,
  FeatureDiscriminator,
  featureDistillationLoss,
  normalizeChannels,
} from "../../nn/index.js";
import type { Random } from "../../util/random.js";
import type { MultiAdConfig } from "./config.js";
import { MultiAdStudent } from "./student.js";

export class MultiAdNetworks {
  readonly teacher: FeatureBackbone;
  readonly student: MultiAdStudent;
  readonly discriminator: FeatureDiscriminator;
  readonly taps: readonly string[];
  /** Width and side of F4 (the discriminator's input). */
  readonly f4: { channels: number; side: number };
  /** Length of one image's dropout keep-mask in the discriminator. */
  readonly dropoutFeatures: number;

  constructor(
    readonly config: MultiAdConfig,
    readonly imageSize: number,
    random: Random,
  ) {
    const backbone = getBackbone(config.teacher);
    this.taps = backbone.taps;
    this.teacher = loadBackbone(config.teacher);
    this.student = new MultiAdStudent(random, {
      widths: backbone.tapWidths,
      se: config.se,
      seReduction: config.seReduction,
      dilation: config.dilation,
    });
    this.f4 = { channels: backbone.tapWidths[3], side: imageSize / 32 };
    this.discriminator = new FeatureDiscriminator(random, { ...this.f4, dropout: config.discDropout });
    this.dropoutFeatures = this.discriminator.dropoutShape(1)[1];
  }

  get adversarial(): boolean {
    return this.config.lambdaAdv > 0;
  }

  features(images: Tensor): { teacher: Tensor[]; student: Tensor[] } {
    // The teacher is frozen: no gradient flows into it (torch.no_grad in S4).
    const teacher = this.teacher.features(images, this.taps).map((t) => T.stopGradient(t));
    return { teacher, student: this.student.features(images) };
  }

  /** What the discriminator sees of an F4 map (`discInput`). */
  discriminatorView(f4: Tensor): Tensor {
    return this.config.discInput === "normalized" ? normalizeChannels(f4) : f4;
  }

  studentObjective(images: Tensor, keepMask?: Tensor) {
    const f = this.features(images);
    const terms: Record<string, Tensor> = { kd_loss: featureDistillationLoss(f.teacher, f.student) };
    const fake = this.discriminatorView(f.student[3]);
    if (this.adversarial) {
      const adversarial = bceWithLogits(this.discriminator.forward(fake, keepMask), 1);
      terms.adv_loss = T.mul(adversarial, this.config.lambdaAdv);
    }
    return {
      loss: Object.values(terms).reduce((a, b) => T.add(a, b)),
      terms,
      real: T.stopGradient(this.discriminatorView(f.teacher[3])),
      fake: T.stopGradient(fake),
    };
  }

  discriminatorObjective(real: Tensor, fake: Tensor, keepReal?: Tensor, keepFake?: Tensor): Tensor {
    return T.add(
      bceWithLogits(this.discriminator.forward(real, keepReal), 1),
      bceWithLogits(this.discriminator.forward(fake, keepFake), 0),
    );
  }

  /** The fused map N×1×S×S (before the scorer's Gaussian smoothing). */
  anomalyMap(images: Tensor): Tensor {
    const f = this.features(images);
    const side: [number, number] = [images.shape[2], images.shape[3]];
    const maps = f.teacher.map((t, l) => T.resize(cosineDistanceMap(t, f.student[l]), side, "bilinear"));
    return maps.reduce((a, b) => (this.config.fusion === "product" ? T.mul(a, b) : T.add(a, b)));
  }
}
