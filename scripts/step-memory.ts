/**
 * Where a method's training memory goes (issue 23, docs/results.md "SQUID beside PyTorch", round 3):
 *
 *   npx tsx scripts/step-memory.ts --method squid [--size 128] [--batch 16] [--iterations 6] [--runtime JSON]
 *
 * For every training step the method compiles, prints the bytes of its graph's inputs and outputs and
 * the peak of values alive at once when its nodes run in trace order, each freed after its last use
 * (`graphMemory`). Then runs the iterations on seeded random images and prints, after each and again
 * after a forced garbage collection, the process's RSS, its JavaScript array buffers (the state and
 * the binding's output copies) and its peak RSS. `--runtime` overrides the runtime options of every
 * compiled step (e.g. '{"optimizationLevel":"all"}', the level training steps had before
 * `trainingRuntimeDefaults` chose "extended"); run under RETAINING_MALLOC_ENV (engine/runtime.ts) to
 * see training steps without ORT's arena.
 */

import { parseArgs } from "node:util";
import v8 from "node:v8";
import vm from "node:vm";
import { graphMemory } from "../src/engine/index.js";
import { CompiledGraph, type RuntimeOptions } from "../src/engine/runtime.js";
import { getMethod, parseMethodConfig } from "../src/methods/index.js";
import { Random } from "../src/util/random.js";

const { values } = parseArgs({
  options: {
    method: { type: "string" },
    size: { type: "string", default: "128" },
    batch: { type: "string", default: "16" },
    iterations: { type: "string", default: "6" },
    runtime: { type: "string" },
  },
});
if (!values.method) throw new Error("--method is required");
const runtime: RuntimeOptions = values.runtime ? JSON.parse(values.runtime) : {};
const [size, batch, iterations] = [values.size, values.batch, values.iterations].map(Number);

v8.setFlagsFromString("--expose-gc");
const collectGarbage = vm.runInNewContext("gc") as () => void;
const MB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

const compile = CompiledGraph.create.bind(CompiledGraph);
CompiledGraph.create = async (graph, outputs, options, frozen) => {
  const tensors = Object.values(outputs);
  const memory = graphMemory(graph, tensors);
  const bytes = (list: readonly { size: number }[]) => list.reduce((sum, t) => sum + 4 * t.size, 0);
  console.log(
    `compiled graph: inputs ${MB(bytes(graph.inputs))}, outputs ${MB(bytes(tensors))}, ` +
      `values alive at the peak ${MB(memory.peakLiveBytes)}`,
  );
  return compile(graph, outputs, { ...options, ...runtime }, frozen);
};

function report(label: string): void {
  const m = process.memoryUsage();
  console.log(
    `${label}: RSS ${MB(m.rss)}, array buffers ${MB(m.arrayBuffers)}, peak RSS ${MB(process.resourceUsage().maxRSS * 1024)}`,
  );
}

const method = getMethod(values.method);
const config = parseMethodConfig(method, {});
const instance = method.create(config, { imageSize: size, channels: 1, random: new Random(0) });
const images = new Random(1);
const feed = Float32Array.from({ length: batch * size * size }, () => images.uniform());
for (let iteration = 0; iteration < iterations; iteration++) {
  const started = performance.now();
  await instance.trainBatch(feed, batch, {
    epoch: 0,
    epochs: 1,
    iteration,
    random: new Random(100 + iteration),
  });
  report(`iteration ${iteration} (${((performance.now() - started) / 1000).toFixed(2)} s)`);
  collectGarbage();
  report(`iteration ${iteration} after GC`);
}
await instance.dispose();
