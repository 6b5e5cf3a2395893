/**
 * Neural-network building blocks shared by every method (methods.md §1): PyTorch-default
 * initialisation, layers, losses, memory reads, squeeze-and-excitation, SE/dilated bottlenecks, a
 * feature-map discriminator and multi-head attention. Pretrained backbones: ./backbones.
 */
export * from "./blocks/attention.js";
export * from "./blocks/bottleneck.js";
export * from "./blocks/discriminator.js";
export * from "./blocks/feature-discriminator.js";
export * from "./blocks/hash-memory.js";
export * from "./blocks/memory.js";
export * from "./blocks/msgsa.js";
export * from "./blocks/patches.js";
export * from "./blocks/se.js";
export * from "./divergences.js";
export * from "./frozen.js";
export * from "./init.js";
export * from "./layer.js";
export * from "./layers.js";
export * from "./losses.js";
