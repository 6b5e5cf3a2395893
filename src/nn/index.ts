/**
 * Neural-network building blocks shared by every method (methods.md §1): PyTorch-default
 * initialisation, layers, losses, memory reads, squeeze-and-excitation, SE/dilated bottlenecks, a
 * feature-map discriminator, multi-head attention, locally aware patch features, greedy k-center
 * coresets and chunked nearest-neighbour search against a memory bank. Pretrained backbones: ./backbones.
 */
export * from "./blocks/attention.js";
export * from "./blocks/bottleneck.js";
export * from "./blocks/discriminator.js";
export * from "./blocks/feature-discriminator.js";
export * from "./blocks/hash-memory.js";
export * from "./blocks/memory.js";
export * from "./blocks/msgsa.js";
export * from "./blocks/patch-features.js";
export * from "./blocks/patches.js";
export * from "./blocks/se.js";
export * from "./coreset.js";
export * from "./divergences.js";
export * from "./frozen.js";
export * from "./init.js";
export * from "./layer.js";
export * from "./layers.js";
export * from "./losses.js";
export * from "./nearest-neighbour.js";
