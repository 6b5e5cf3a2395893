/**
 * DAAD's two losses (methods.md §6.3), traced inside the generator and discriminator steps and reused
 * by the mechanism tests. x is the normalised input in [−1, 1].
 *
 * - Generator terms (unweighted): reconstruction mse(x̂, x); adversarial BCE(D(x̂), 1); latent
 *   mean((f_D(x̂) − f_D(x))²) with f_D(x) a constant target; entropy Σ_scales mean entropy of the memory
 *   weights. The discriminator is traced frozen (`traceFrozen`): no gradient and no running-statistics
 *   update reaches it from these terms; x̂ receives the gradient through it.
 * - Discriminator loss: BCE(D(x), 1) + BCE(D(sg(x̂)), 0), the generator traced frozen (its batch norm
 *   uses the batch statistics without updating its running ones). D sees x̂ first and x second, so the
 *   running-statistics update the engine keeps (the last one) is the real batch's [ours].
 */
import type { Tensor } from "../../engine/index.js";
import * as T from "../../engine/index.js";
import {
  attentionEntropy,
  bceWithLogits,
  type DcganDiscriminator,
  mse,
  traceFrozen,
} from "../../nn/index.js";
import type { DaadGenerator } from "./network.js";

export interface GeneratorTerms {
  reconstruction: Tensor;
  adversarial?: Tensor;
  latent?: Tensor;
  entropy?: Tensor;
}

export function generatorTerms(
  generator: DaadGenerator,
  discriminator: DcganDiscriminator | undefined,
  x: Tensor,
): GeneratorTerms {
  const { reconstruction, weights } = generator.forward(x);
  const terms: GeneratorTerms = { reconstruction: mse(reconstruction, x) };
  if (weights.length > 0) terms.entropy = weights.map(attentionEntropy).reduce((a, b) => T.add(a, b));
  if (discriminator)
    traceFrozen(discriminator, () => {
      const fakeFeatures = discriminator.features(reconstruction);
      terms.adversarial = bceWithLogits(discriminator.logits(fakeFeatures), 1);
      terms.latent = mse(fakeFeatures, T.stopGradient(discriminator.features(x)));
    });
  return terms;
}

export function discriminatorLoss(
  generator: DaadGenerator,
  discriminator: DcganDiscriminator,
  x: Tensor,
): Tensor {
  const fake = traceFrozen(generator, () => T.stopGradient(generator.forward(x).reconstruction));
  const fakeLoss = bceWithLogits(discriminator.forward(fake), 0);
  return T.add(bceWithLogits(discriminator.forward(x), 1), fakeLoss);
}
