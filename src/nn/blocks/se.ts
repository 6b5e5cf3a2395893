/**
 * Squeeze-and-excitation block (methods.md §1.4): s = GAP(F), e = σ(W₂·ReLU(W₁·s)) with Linear layers
 * (bias) C → C/r → C, output e ⊙ F (channel-wise scale). r = 16 by default.
 */

import type { Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import type { Random } from "../../util/random.js";
import { Layer, type LayerOptions } from "../layer.js";
import { Linear } from "../layers.js";

export interface SqueezeExcitationOptions extends LayerOptions {
  channels: number;
  /** Reduction ratio r; the hidden width is max(1, floor(C / r)). Default 16. */
  reduction?: number;
}

export class SqueezeExcitation extends Layer {
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(rng: Random, options: SqueezeExcitationOptions) {
    super(options.name);
    const hidden = Math.max(1, Math.floor(options.channels / (options.reduction ?? 16)));
    this.fc1 = this.child("fc1", new Linear(rng, { in: options.channels, out: hidden }));
    this.fc2 = this.child("fc2", new Linear(rng, { in: hidden, out: options.channels }));
  }

  /** The per-channel factors e ∈ (0, 1), shape [N, C, 1, 1]. */
  excitation(x: Tensor): Tensor {
    return this.scoped(() => {
      const squeezed = T.mean(x, [2, 3]);
      const e = T.sigmoid(this.fc2.forward(T.relu(this.fc1.forward(squeezed))));
      return T.reshape(e, [x.shape[0], x.shape[1], 1, 1]);
    });
  }

  forward(x: Tensor): Tensor {
    const e = this.excitation(x);
    return this.scoped(() => T.mul(x, e));
  }
}
