/**
 * Running compiled graphs on ONNX Runtime's native CPU kernels (onnxruntime-node).
 *
 * `CompiledGraph.create(graph, outputs)` builds one `InferenceSession` for one traced graph (fixed
 * shapes). `run(feeds, into)` passes host arrays without copying them and, when `into` gives output
 * buffers, lets ORT write the results straight into them (used for double-buffered buffers such as
 * batch-norm statistics). The onnxruntime-node binding still returns every output in a fresh
 * ArrayBuffer it fills natively, which is why training steps output gradients and leave the optimiser's
 * update to the host (src/engine/optimizer.ts). `npm run bench:engine` reports each training step and
 * its `session.run` separately.
 */
import { availableParallelism } from "node:os";
import ort from "onnxruntime-node";
import { EngineError } from "./errors.js";
import { graphFlops } from "./flops.js";
import type { DType, Graph, Tensor } from "./ir.js";
import { buildGraphProto, encodeModel } from "./onnx.js";

export type HostArray = Float32Array | BigInt64Array | Uint8Array;

export interface RuntimeOptions {
  threads?: number;
  optimizationLevel?: "disabled" | "basic" | "extended" | "all";
  /**
   * Let idle intra-op threads spin-wait for work (ORT's default) instead of sleeping. Off by default
   * (see `defaultRuntimeOptions`).
   */
  spinning?: boolean;
  /**
   * ORT's CPU memory arena (pooled allocations, kept for the session's life) and memory pattern
   * (one pre-planned block per run shape). Both on by default; training steps turn the pattern off, and
   * the arena too when malloc retains freed memory (`trainingRuntimeDefaults`).
   */
  memoryArena?: boolean;
  memoryPattern?: boolean;
  /** Further ORT session configuration entries, e.g. `{ "session.intra_op.allow_spinning": "0" }`. */
  sessionConfig?: Record<string, string>;
  /** Write an ORT profile (a Chrome trace JSON) under this file prefix; see `CompiledGraph.endProfiling`. */
  profilePrefix?: string;
}

/**
 * Threads: every available core. Optimisation level "all" (inference functions; training steps use
 * "extended" since it was found to save memory, `trainingRuntimeDefaults`), by measurement with
 * spinning off (below): reference AE training step 128/16,
 * Adam, 2 threads, interleaved on this shared 2-vCPU machine (load 5–6), medians: `npm run
 * bench:engine -- --session-options` basic 401, extended 377, all 364 ms; two bench A/Bs of two ORT
 * workers each, basic → all 372 → 368 and 369 → 354 ms; a second `--session-options` run gave all
 * 398, extended 347, basic 354 ms. In both runs the first variant of the interleaved order (the default)
 * was the slowest, so for training the three levels are within this machine's noise; "all" is kept
 * for one setting for both graph kinds. With ORT's spinning threads (the former
 * bench/step-overhead.ts) "all" had been 1–25 % slower than "basic" (basic 224–232, extended
 * 228–238, all 231–292 ms): the NCHWc layout transforms it adds apparently pay off only once idle threads
 * stop burning the cores. Inference functions gain more from it (reference AE, frozen, A/B medians,
 * "extended" → "all": 128/16 79.9 → 67.9 ms, 256/1 18.8 → 15.2 ms, 128/1 4.6 → 3.7 ms).
 *
 * Spinning off (`session.intra_op.allow_spinning` = "0"), by measurement on this machine while other
 * engineers' jobs kept the 1-minute load at 5–8 on 2 cores (bench A/B of two ORT workers, interleaved
 * rounds, medians): AE training step 128/16 1122 → 578 ms and 1482 → 678 ms, inference 128/1
 * 17.2 → 7.2 ms. A spinning thread burns the core that the other thread of the same kernel, or another
 * process, needs; PyTorch in the benchmark runs with `OMP_WAIT_POLICY=PASSIVE` likewise.
 */
export const defaultRuntimeOptions: Required<
  Pick<RuntimeOptions, "threads" | "optimizationLevel" | "spinning" | "memoryArena" | "memoryPattern">
> = {
  threads: availableParallelism(),
  optimizationLevel: "all",
  spinning: false,
  memoryArena: true,
  memoryPattern: true,
};

/**
 * glibc malloc settings under which memory a process frees stays mapped and is reused: no mmap for
 * large blocks (which are otherwise mapped afresh, and page-faulted in, at every allocation), no
 * trimming of the heap's top, one malloc arena for all threads (a thread arena cannot grow a block
 * past 64 MB without mmap). They take effect only when set in the environment before the process
 * starts (README, "Training memory"); with them ONNX Runtime runs training steps without its own arena
 * (`trainingRuntimeDefaults`). Not set by the CLI itself: Node 20 cannot re-exec a process, and a
 * relaunched child outlives a parent that is killed (tried: it held the output folder's lock after
 * the parent's SIGKILL).
 */
export const RETAINING_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: "1",
  MALLOC_MMAP_MAX_: "0",
  MALLOC_TRIM_THRESHOLD_: "68719476736",
};

let glibc: boolean | undefined;

/** Whether this process runs on glibc (the C library whose malloc `RETAINING_MALLOC_ENV` configures). */
export function usesGlibc(): boolean {
  if (glibc === undefined) {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)
      ?.header;
    glibc = typeof header?.glibcVersionRuntime === "string";
  }
  return glibc;
}

/** Whether `RETAINING_MALLOC_ENV` is in this process's environment on glibc (set, as it must be, at start). */
export function mallocRetainsMemory(env: NodeJS.ProcessEnv = process.env): boolean {
  return usesGlibc() && Object.entries(RETAINING_MALLOC_ENV).every(([key, value]) => env[key] === value);
}

/**
 * ORT graph transformers a training step that recomputes activations (autodiff/grad.ts `recompute`)
 * runs without, as session configuration entries (`recomputeSessionConfig`).
 *
 * CommonSubexpressionElimination would merge the backward pass's recomputed values
 * (autodiff/rules.ts `recomputeRules`) back into the forward's, which then live until the backward
 * reads them. GatherSliceToSplitFusion turns the batch-chunk slices of a weight gradient's input and
 * cotangent (autodiff/rules.ts `matMulWeightGrad`) into one Split that copies every chunk at once,
 * where each Slice copies one chunk just before its product. SQUID's training process
 * (scripts/step-memory.ts, 128 px, batch 16, 2 iterations, retaining malloc; 2026-12-04): peak RSS
 * 3442 MB with both, 3372 MB without the fusion, 3070 MB without both and with recomputation. Without
 * recomputation the reference AE's step is faster with both (below `RECOMPUTE_ABOVE_BYTES` in step.ts).
 */
export const RECOMPUTE_DISABLED_OPTIMIZERS: readonly string[] = [
  "CommonSubexpressionElimination",
  "GatherSliceToSplitFusion",
];

/** Session configuration entries of a training step that recomputes activations. */
export function recomputeSessionConfig(): Record<string, string> {
  return { "optimization.disable_specified_optimizers": RECOMPUTE_DISABLED_OPTIMIZERS.join(";") };
}

/**
 * Session options of training steps, beside `defaultRuntimeOptions`.
 *
 * ORT's memory pattern off: SQUID's faithful steps peaked at 12.0 GB RSS with it and 7.2 GB without,
 * at the same speed (`npm run bench:method -- --method squid`, 5.08 vs 5.12 s per iteration); reference
 * AE step, quiet A/B: 128/16 190 vs 185 ms, 256/16 617 vs 623 ms.
 *
 * ORT's arena off when malloc retains freed memory (`mallocRetainsMemory`). The arena grows in
 * power-of-two regions and keeps them; for SQUID's 45 M-parameter generator step it held ≈ 4.5 GB of
 * native memory where the step's live values peak at 1.8 GB. Measured with scripts/step-memory.ts on
 * SQUID's training iterations (128 px, batch 16, 6 iterations, level "all", machine loaded by a
 * training): process peak RSS 6.06 GB with the arena, 4.73 GB without it under retaining malloc, generator step 14.6–18.8 s vs 12.0–12.7 s; without
 * retaining malloc the arena-less step is 2.7x slower (page faults of freshly mapped blocks,
 * docs/results.md "SQUID beside PyTorch"), so the arena stays on there. Quiet A/B of SQUID's
 * iteration (2026-12-04, bench:method, interleaved with PyTorch): 6100 → 5164 MB, 5.56 → 5.03 s.
 *
 * Optimisation level "extended" rather than "all": "all" adds ORT's NCHWc layout transforms, whose
 * reordered copies of activations live as long as the backward pass needs them. SQUID's training
 * process (scripts/step-memory.ts as above, 4 iterations): peak RSS 6.06 → 5.08 GB with the arena,
 * 4.73 → 3.99 GB under retaining malloc, generator step unchanged within the load's noise; quiet
 * bench:method A/B with retaining malloc 5164 → 4404 MB, iteration 5.03 → 4.04 s (interleaved with
 * PyTorch in both runs: 0.79x → 0.71x). The reference AE's step (bench:engine --ab, quiet): 128/16
 * 149.0 → 160.7 ms, 256/16 624.5 → 632.2 ms, peak RSS 392 → 333 MB and 914 → 751 MB.
 */
export function trainingRuntimeDefaults(env: NodeJS.ProcessEnv = process.env): RuntimeOptions {
  return {
    optimizationLevel: "extended",
    memoryPattern: false,
    ...(mallocRetainsMemory(env) ? { memoryArena: false } : {}),
  };
}

/** ONNX Runtime session options for the engine's runtime options (defaults filled in): the one place they
 * are built, for compiled graphs and for anything else that opens a session on an engine graph. */
export function sessionOptions(options: RuntimeOptions = {}): ort.InferenceSession.SessionOptions {
  const settings = { ...defaultRuntimeOptions, ...options };
  return {
    intraOpNumThreads: settings.threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: settings.optimizationLevel,
    enableCpuMemArena: settings.memoryArena,
    enableMemPattern: settings.memoryPattern,
    extra: {
      session: { "intra_op.allow_spinning": settings.spinning ? "1" : "0" },
      ...settings.sessionConfig,
    },
    ...(settings.profilePrefix ? { enableProfiling: true, profileFilePrefix: settings.profilePrefix } : {}),
  };
}

const ortType: Record<DType, "float32" | "int64" | "bool"> = {
  float32: "float32",
  int64: "int64",
  bool: "bool",
};

export function allocate(dtype: DType, size: number): HostArray {
  if (dtype === "float32") return new Float32Array(size);
  if (dtype === "int64") return new BigInt64Array(size);
  return new Uint8Array(size);
}

interface Signature {
  name: string;
  dtype: DType;
  shape: readonly number[];
}

export class CompiledGraph {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputs: readonly Signature[],
    readonly outputs: readonly Signature[],
    readonly modelBytes: Uint8Array,
    /** Convolution and matrix-product FLOPs of one run (`graphFlops`). */
    readonly flops: number,
  ) {}

  static async create(
    graph: Graph,
    outputs: Record<string, Tensor>,
    options: RuntimeOptions = {},
    frozen?: ReadonlyMap<string, Float32Array>,
  ): Promise<CompiledGraph> {
    const named = Object.entries(outputs).map(([name, tensor]) => ({ name, tensor }));
    const bytes = encodeModel(buildGraphProto(graph, named, { frozen }));
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, sessionOptions(options));
    } catch (error) {
      throw new EngineError(`ONNX Runtime rejected the graph: ${(error as Error).message}`);
    }
    return new CompiledGraph(
      session,
      graph.inputs
        .filter((t) => !frozen?.has(t.inputName!))
        .map((t) => ({ name: t.inputName!, dtype: t.dtype, shape: t.shape })),
      named.map(({ name, tensor }) => ({ name, dtype: tensor.dtype, shape: tensor.shape })),
      bytes,
      graphFlops(
        graph,
        named.map(({ tensor }) => tensor),
      ),
    );
  }

  /** Run once. Feeds are taken by reference; results go into `into` where it provides a buffer. */
  async run(
    feeds: Record<string, HostArray>,
    into: Record<string, HostArray> = {},
  ): Promise<Record<string, HostArray>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const sig of this.inputs) {
      const data = feeds[sig.name];
      if (data === undefined) throw new EngineError(`missing input "${sig.name}"`);
      const expected = sig.shape.reduce((a, d) => a * d, 1);
      if (data.length !== expected) {
        throw new EngineError(
          `input "${sig.name}" has ${data.length} values, expected ${expected} for shape [${sig.shape.join(", ")}]`,
        );
      }
      ortFeeds[sig.name] = new ort.Tensor(ortType[sig.dtype], data, [...sig.shape]);
    }
    const fetches: Record<string, ort.Tensor | null> = {};
    for (const sig of this.outputs) {
      const buffer = into[sig.name];
      fetches[sig.name] = buffer ? new ort.Tensor(ortType[sig.dtype], buffer, [...sig.shape]) : null;
    }
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this.session.run(ortFeeds, fetches);
    } catch (error) {
      throw new EngineError(`ONNX Runtime failed to run the graph: ${(error as Error).message}`);
    }
    const out: Record<string, HostArray> = {};
    for (const sig of this.outputs) out[sig.name] = results[sig.name].data as HostArray;
    return out;
  }

  /** Stop profiling (with `profilePrefix`): ORT writes the trace to `<prefix>_<timestamp>.json`. */
  endProfiling(): void {
    this.session.endProfiling();
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export function runtimeVersion(): string {
  return ort.env.versions.node ?? "unknown";
}
