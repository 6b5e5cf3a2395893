/**
 * Converts the TF.js layers-format MobileNet v1 0.75 (shared/weights/mobilenet_v1_0.75_224, see its
 * README) once into weights/mobilenet_v1_0.75.safetensors, which ships in the npm package (Multi-AD's
 * teacher, methods.md §7.2). Run from the repository root:
 *
 *   npx tsx scripts/convert-mobilenet.ts [--source ../shared/weights] [--out weights/mobilenet_v1_0.75.safetensors]
 *
 * Checks, before writing: every file listed for the model in `<source>/SHA256SUMS` has that sha256;
 * the topology in model.json has, for every conv of our plan (src/nn/backbones/mobilenet-v1.ts), the
 * same name, kernel, stride, "same" padding and width, and batch norms with eps 1e-3 and ReLU6
 * activations; every weight of the manifest is float32 and used exactly once.
 *
 * Layouts (Keras NHWC → PyTorch NCHW): conv kernel [kh, kw, in, out] → weight [out, in, kh, kw];
 * depthwise kernel [kh, kw, C, 1] → weight [C, 1, kh, kw]; batch norm gamma, beta, moving_mean,
 * moving_variance → weight, bias, running_mean, running_var; conv_preds bias → bias. Names are the
 * Keras layer names (`conv_pw_3.weight`, `conv_pw_3_bn.running_var`, ...). Prints the sha256 of the
 * output, which src/nn/backbones/index.ts must declare.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { encodeSafetensors, type StoredTensor } from "../src/engine/safetensors.js";
import { mobileNetV1Plan } from "../src/nn/backbones/mobilenet-v1.js";

const { values } = parseArgs({
  options: {
    source: { type: "string", default: "../shared/weights" },
    out: { type: "string", default: "weights/mobilenet_v1_0.75.safetensors" },
  },
});
const MODEL_DIR = "mobilenet_v1_0.75_224";
const source = values.source!;
const fail = (message: string): never => {
  console.error(`convert-mobilenet: ${message}`);
  process.exit(1);
};
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

// 1. Checksums of every model file listed in SHA256SUMS.
const sums = readFileSync(join(source, "SHA256SUMS"), "utf8")
  .split("\n")
  .map((line) => line.trim().split(/\s+/))
  .filter(([hash, file]) => hash && file?.replace(/^\.\//, "").startsWith(`${MODEL_DIR}/`));
if (sums.length === 0) fail(`${source}/SHA256SUMS lists no file of ${MODEL_DIR}`);
for (const [hash, file] of sums) {
  const actual = sha256(readFileSync(join(source, file)));
  if (actual !== hash) fail(`${file}: sha256 ${actual}, expected ${hash}`);
}
console.log(`checked ${sums.length} sha256 sums`);

// 2. Topology against our plan.
interface KerasLayer {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
}
const model = JSON.parse(readFileSync(join(source, MODEL_DIR, "model.json"), "utf8"));
const layers: KerasLayer[] = model.modelTopology.model_config.config.layers;
const layer = (name: string) =>
  layers.find((l) => l.name === name) ?? fail(`model.json has no layer ${name}`);
const expectConfig = (name: string, key: string, expected: unknown) => {
  const actual = JSON.stringify(layer(name).config[key]);
  if (actual !== JSON.stringify(expected))
    fail(`${name}.${key} is ${actual}, our plan says ${JSON.stringify(expected)}`);
};
const plan = mobileNetV1Plan(0.75);
const convs: Array<{ name: string; kernel: number; stride: number; out: number; depthwise: boolean }> = [
  { name: "conv1", kernel: 3, stride: 2, out: plan.stemWidth, depthwise: false },
  ...plan.blocks.flatMap((b) => [
    { name: `conv_dw_${b.index}`, kernel: 3, stride: b.stride, out: b.in, depthwise: true },
    { name: `conv_pw_${b.index}`, kernel: 1, stride: 1, out: b.out, depthwise: false },
  ]),
];
for (const c of convs) {
  expectConfig(c.name, "kernel_size", [c.kernel, c.kernel]);
  expectConfig(c.name, "strides", [c.stride, c.stride]);
  expectConfig(c.name, "padding", "same");
  expectConfig(c.name, "use_bias", false);
  if (!c.depthwise) expectConfig(c.name, "filters", c.out);
  expectConfig(`${c.name}_bn`, "epsilon", 0.001);
  expectConfig(`${c.name}_relu`, "activation", "relu6");
}
expectConfig("conv_preds", "use_bias", true);
expectConfig("conv_preds", "filters", 1000);

// 3. Weights, in manifest order, into PyTorch layouts.
const raw = new Map<string, { shape: number[]; data: Float32Array }>();
for (const group of model.weightsManifest as Array<{
  paths: string[];
  weights: Array<{ name: string; shape: number[]; dtype: string }>;
}>) {
  const bytes = Buffer.concat(group.paths.map((p) => readFileSync(join(source, MODEL_DIR, p))));
  let offset = 0;
  for (const w of group.weights) {
    if (w.dtype !== "float32") fail(`${w.name}: dtype ${w.dtype}, expected float32`);
    const size = w.shape.reduce((a, d) => a * d, 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = bytes.readFloatLE(offset + 4 * i);
    offset += 4 * size;
    raw.set(w.name, { shape: w.shape, data });
  }
  if (offset !== bytes.length) fail(`group ${group.paths.join(",")}: ${bytes.length - offset} bytes unused`);
}
const used = new Set<string>();
const take = (name: string) => {
  const w = raw.get(name) ?? fail(`the manifest has no weight ${name}`);
  used.add(name);
  return w;
};
/** Keras [kh, kw, a, b] → PyTorch [b, a, kh, kw] (for depthwise, a = C and b = 1 → [C, 1, kh, kw] after the swap below). */
function toTorch(w: { shape: number[]; data: Float32Array }, depthwise: boolean): StoredTensor {
  const [kh, kw, a, b] = w.shape;
  const [outC, inC] = depthwise ? [a, b] : [b, a];
  const out = new Float32Array(w.data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < a; i++)
        for (let j = 0; j < b; j++) {
          const [o, c] = depthwise ? [i, j] : [j, i];
          out[((o * inC + c) * kh + y) * kw + x] = w.data[((y * kw + x) * a + i) * b + j];
        }
  return { shape: [outC, inC, kh, kw], data: out };
}
const tensors: Record<string, StoredTensor> = {};
for (const c of convs) {
  tensors[`${c.name}.weight`] = toTorch(
    take(`${c.name}/${c.depthwise ? "depthwise_kernel" : "kernel"}`),
    c.depthwise,
  );
  const bn = `${c.name}_bn`;
  for (const [keras, torch] of [
    ["gamma", "weight"],
    ["beta", "bias"],
    ["moving_mean", "running_mean"],
    ["moving_variance", "running_var"],
  ])
    tensors[`${bn}.${torch}`] = take(`${bn}/${keras}`);
}
tensors["conv_preds.weight"] = toTorch(take("conv_preds/kernel"), false);
tensors["conv_preds.bias"] = take("conv_preds/bias");
const unused = [...raw.keys()].filter((k) => !used.has(k));
if (unused.length > 0) fail(`weights not converted: ${unused.join(", ")}`);

const bytes = encodeSafetensors(tensors, {
  source:
    "TF.js layers MobileNet v1 0.75 224 (Keras Applications ImageNet weights), shared/weights/mobilenet_v1_0.75_224",
  model_json_sha256: sha256(readFileSync(join(source, MODEL_DIR, "model.json"))),
  converter: "scripts/convert-mobilenet.ts",
  layout: "PyTorch NCHW: conv [out, in/groups, kh, kw]; batch norm eps 1e-3",
});
writeFileSync(values.out!, bytes);
const count = Object.values(tensors).reduce((a, t) => a + t.data.length, 0);
console.log(
  `wrote ${values.out} (${Object.keys(tensors).length} tensors, ${count} values, ${bytes.length} bytes)`,
);
console.log(`sha256 ${sha256(bytes)}`);
