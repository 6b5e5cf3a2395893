/**
 * The packaged MobileNet v1 0.75 teacher (weights/mobilenet_v1_0.75.safetensors, methods.md §7.2)
 * reproduces the reference ImageNet outputs of ../shared/weights/README.md (TF.js 4.22, Node 20):
 * top-5 classes and their probabilities on the two CC0 photos (pixels/127.5 − 1, bilinear resize to
 * 224 with align-corners, no crop), and on the all-0.5 model-space input. Tolerance: top-1 and the
 * top-4 order equal; probabilities within 2e-3 absolute (the README gives 4 decimals; the two
 * backends it compares agree to ~1e-6). The logits are compared through the softmax because the
 * README states probabilities. Only this test reads ../shared; the package does not.
 */
import { readFileSync } from "node:fs";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { compileFunction } from "../../src/engine/step.js";
import {
  type FeatureBackbone,
  getBackbone,
  loadBackbone,
  loadPackagedWeights,
  MobileNetV1,
} from "../../src/nn/backbones/index.js";

const SHARED = new URL("../../../shared/weights/", import.meta.url);
const SIDE = 224;

/** RGB 0..255 → [0, 1] planes at 224×224, bilinear with align_corners (tf.image.resizeBilinear(…, true)). */
async function photo(name: string): Promise<Float32Array> {
  const { data, info } = await sharp(readFileSync(new URL(`test_images/${name}`, SHARED)))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const out = new Float32Array(3 * SIDE * SIDE);
  const sy = (info.height - 1) / (SIDE - 1);
  const sx = (info.width - 1) / (SIDE - 1);
  for (let y = 0; y < SIDE; y++) {
    const fy = y * sy;
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, info.height - 1);
    const ty = fy - y0;
    for (let x = 0; x < SIDE; x++) {
      const fx = x * sx;
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, info.width - 1);
      const tx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const at = (yy: number, xx: number) => data[(yy * info.width + xx) * info.channels + c];
        const top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * tx;
        const bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * tx;
        out[c * SIDE * SIDE + y * SIDE + x] = (top + (bottom - top) * ty) / 255;
      }
    }
  }
  return out;
}

function softmax(logits: ArrayLike<number>): number[] {
  const max = Math.max(...Array.from(logits));
  const e = Array.from(logits, (v) => Math.exp(v - max));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

const teacher: FeatureBackbone = loadBackbone("mobilenet_v1_0.75", { classifier: true });
const classify = compileFunction({
  modules: [teacher],
  inputs: { images: { shape: [1, 3, SIDE, SIDE] } },
  build: ({ images }) => ({ logits: teacher.logits(images) }),
});
afterAll(async () => (await classify).release());

async function probabilities(images: Float32Array): Promise<number[]> {
  return softmax((await (await classify).run({ images })).logits as Float32Array);
}

function expectTop(probs: number[], expected: Array<[number, number]>) {
  const order = probs.map((p, i) => [i, p] as const).sort((a, b) => b[1] - a[1]);
  expected.forEach(([cls, p], rank) => {
    expect(order[rank][0]).toBe(cls);
    expect(Math.abs(order[rank][1] - p)).toBeLessThan(2e-3);
  });
}

describe("MobileNet v1 0.75 teacher (packaged weights)", () => {
  it("is frozen: every tensor a buffer, evaluation mode even after train()", () => {
    expect(teacher.namedParameters()).toHaveLength(0);
    expect(teacher.namedBuffers().reduce((a, [, p]) => a + p.size, 0)).toBe(2_601_976);
    teacher.train();
    expect(teacher.anyTraining()).toBe(false);
  });

  it("chelsea.png: 285 Egyptian cat 0.5668, 282 tiger cat 0.2365, 281 tabby 0.1495, 287 lynx 0.0469", async () => {
    expectTop(await probabilities(await photo("chelsea.png")), [
      [285, 0.5668],
      [282, 0.2365],
      [281, 0.1495],
      [287, 0.0469],
    ]);
  });

  it("coffee.png: 967 espresso 0.9544, 925 consomme 0.0125, 960 chocolate sauce 0.0103, 968 cup 0.0101", async () => {
    expectTop(await probabilities(await photo("coffee.png")), [
      [967, 0.9544],
      [925, 0.0125],
      [960, 0.0103],
      [968, 0.0101],
    ]);
  });

  it("all-0.5 model input: 549 envelope 0.040781 and probs[0..4] within 1 % of the reference", async () => {
    // Model space 0.5 is image value 0.75 (x·2 − 1).
    const probs = await probabilities(new Float32Array(3 * SIDE * SIDE).fill(0.75));
    expectTop(probs, [
      [549, 0.0408],
      [677, 0.02],
      [760, 0.0175],
    ]);
    const reference = [1.3733e-4, 5.4046e-4, 1.6423e-4, 1.9562e-4, 1.5389e-3];
    reference.forEach((p, i) => {
      expect(Math.abs(probs[i] - p) / p).toBeLessThan(1e-2);
    });
  });

  it("declares the tap widths its layers produce", () => {
    const spec = getBackbone("mobilenet_v1_0.75");
    const widths = spec.taps.map(
      (t) => teacher.namedBuffers().find(([n]) => n === `${t}.weight`)![1].shape[0],
    );
    expect(widths).toEqual([...spec.tapWidths]);
  });

  it("refuses a weights file whose sha256 differs, naming the file", () => {
    const spec = getBackbone("mobilenet_v1_0.75");
    expect(() =>
      loadPackagedWeights(new MobileNetV1({ alpha: 0.75 }), spec.weightsFile, "0".repeat(64)),
    ).toThrow(/weights\/mobilenet_v1_0\.75\.safetensors: corrupt \(sha256 7871cfe2.*, expected 0{64}/);
    expect(() =>
      loadPackagedWeights(new MobileNetV1({ alpha: 0.75 }), "nope.safetensors", spec.sha256),
    ).toThrow(/nope\.safetensors: missing/);
  });
});
