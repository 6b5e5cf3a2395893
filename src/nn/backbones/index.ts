/**
 * Pretrained backbones shipped with the package, by name (the `teacher` field of Multi-AD's config).
 * Each entry names its weights file in `weights/` with the sha256 checked at load, its four feature
 * taps (strides 4, 8, 16, 32) and their widths. A wider backbone is added here, with its module and
 * its converted weights; the methods only see `PretrainedBackbone`.
 */
import type { Module, Tensor } from "../../engine/index.js";
import { MobileNetV1 } from "./mobilenet-v1.js";
import { loadPackagedWeights } from "./packaged-weights.js";

export { IMAGENET_CLASSES, MobileNetV1, mobileNetV1Plan } from "./mobilenet-v1.js";
export { loadPackagedWeights, packagedWeightsPath } from "./packaged-weights.js";

/** A frozen, evaluation-mode network that returns feature maps of images N×3×H×W in [0, 1]. */
export interface FeatureBackbone extends Module {
  features(images: Tensor, taps: readonly string[]): Tensor[];
  logits(images: Tensor): Tensor;
}

export interface PretrainedBackbone {
  name: string;
  /** One line for reports. */
  description: string;
  /** Layer names of the four taps, strides 4, 8, 16, 32 of the input. */
  taps: readonly [string, string, string, string];
  tapWidths: readonly [number, number, number, number];
  weightsFile: string;
  sha256: string;
  /** The network with placeholder weights (`classifier` adds the ImageNet head). */
  build(classifier: boolean): FeatureBackbone;
}

const BACKBONES: Record<string, PretrainedBackbone> = {
  "mobilenet_v1_0.75": {
    name: "mobilenet_v1_0.75",
    description: "MobileNet v1 alpha 0.75 (Keras Applications, ImageNet), ReLU6, TensorFlow same padding",
    taps: ["conv_pw_3", "conv_pw_5", "conv_pw_11", "conv_pw_13"],
    tapWidths: [96, 192, 384, 768],
    weightsFile: "mobilenet_v1_0.75.safetensors",
    sha256: "7871cfe200330cfd53618cd07f1280e4569891a461adb2168d5e2330a66e3090",
    build: (classifier) => new MobileNetV1({ alpha: 0.75, classifier }),
  },
};

export const backboneNames = Object.keys(BACKBONES) as [string, ...string[]];

export function getBackbone(name: string): PretrainedBackbone {
  const backbone = BACKBONES[name];
  if (!backbone) throw new Error(`unknown backbone "${name}" (available: ${backboneNames.join(", ")})`);
  return backbone;
}

/** The backbone with its pretrained weights (sha256 checked), frozen and in evaluation mode. */
export function loadBackbone(name: string, options: { classifier?: boolean } = {}): FeatureBackbone {
  const backbone = getBackbone(name);
  const network = backbone.build(options.classifier ?? false);
  loadPackagedWeights(network, backbone.weightsFile, backbone.sha256);
  return network.eval() as FeatureBackbone;
}
