/**
 * Training steps and inference functions: the contract the trainer and every method use.
 *
 * `compileStep` traces forward + loss (`build`), differentiates the loss with respect to the trainable
 * parameters, compiles the whole step to one ONNX Runtime session and returns a `TrainingStep`. Per
 * step, the graph reads
 *   - the per-step feeds (`inputs`: batch, random masks, ...),
 *   - every parameter and buffer of `modules` (`Parameter.value`, bound by path),
 * and writes the loss, the extra outputs, the gradients of the trained parameters and the next values
 * of the buffers recorded with `Module.update` (batch-norm running statistics, queues). The graph also
 * outputs one finiteness flag over the loss and every gradient. When it holds, the optimiser updates
 * the parameters and its moments (held by the step) in place on the host (src/engine/optimizer.ts says
 * why not in the graph) and each parameter's version is bumped; otherwise `NonFiniteError` names the
 * loss, or the first parameter whose gradient is not finite, and every parameter, moment and buffer
 * stays as it was.
 *
 * Buffers are double-buffered: each has a second array of the same size into which ONNX Runtime
 * writes the next value; after the run the two arrays swap roles (`Parameter.value` becomes the new
 * array, the old one becomes the next run's target). Parameters, moments and buffers are never copied
 * on the JavaScript side. Because `Parameter.value` is read at every run, two steps that share modules
 * (a GAN's discriminator and generator steps) see each other's updates.
 *
 * `compileFunction` is the inference counterpart (no gradients, no optimiser), compiled once per batch
 * size (a last partial batch compiles a second shape), with the weights embedded when its modules are
 * in evaluation mode (`FunctionOptions.frozen`).
 */

import * as T from "./api.js";
import { grad } from "./autodiff/grad.js";
import { EngineError, NonFiniteError } from "./errors.js";
import { exportBatchPolymorphic } from "./export.js";
import { foldConvTransposeAffine } from "./fold.js";
import { type DType, type Tensor, trace, withScope } from "./ir.js";
import { graphMemory } from "./memory.js";
import { type Binding, bind, type Module, type Parameter } from "./module.js";
import type { ParameterSlot, StepOptimizer } from "./optimizer.js";
import {
  allocate,
  CompiledGraph,
  type HostArray,
  type RuntimeOptions,
  recomputeSessionConfig,
  trainingRuntimeDefaults,
} from "./runtime.js";

/**
 * Outputs of every step graph: one flag, true when the loss and every gradient are finite (state is
 * committed only then), and the per-tensor checks (loss, then each trained parameter's gradient; 0
 * when finite, NaN otherwise) that name the first non-finite gradient.
 */
const FINITE_OUTPUT = "step.finite";
const CHECKS_OUTPUT = "step.finite_checks";

/**
 * Batch sizes at which `exportOnnx` traces a function: the first two give each batch-dependent shape
 * constant as a linear function of the batch, the third checks it. None is 1, where the tracer may
 * skip a reshape that other sizes need.
 */
const EXPORT_TRACE_BATCHES = [2, 3, 5];

/** A per-step feed: its full shape (for `compileFunction`, the first axis is the batch axis). */
export interface InputSpec {
  shape: readonly number[];
  dtype?: DType;
}

export type InputSpecs = Record<string, InputSpec>;
export type InputTensors<I extends InputSpecs> = { [K in keyof I]: Tensor };
export type Feeds<I extends InputSpecs> = { [K in keyof I]: HostArray };

export interface StepGraph {
  /** The scalar loss that is differentiated and checked for finiteness. */
  loss: Tensor;
  /** Further tensors to return from every run (reconstructions, partial losses). */
  extraOutputs?: Record<string, Tensor>;
}

export interface StepOptions<I extends InputSpecs> {
  /** Names the step in error messages ("generator", "discriminator"). */
  name: string;
  /**
   * Modules whose parameters and buffers the step reads (bound as graph inputs named by path; with
   * several modules the paths are prefixed by the module's index, "0.", "1.", ...; pass one
   * `ModuleGroup` for readable names).
   */
  modules: readonly Module[];
  inputs: I;
  /** Traced forward and loss. Runs once, at compile time, in the modules' current train/eval mode. */
  build: (inputs: InputTensors<I>) => StepGraph;
  optimizer: StepOptimizer;
  /** Parameters the optimiser updates (default: every trainable parameter of `modules`). */
  trainable?: readonly Parameter[];
  runtime?: RuntimeOptions;
  /**
   * Recompute cheap activations in the backward pass instead of keeping them (autodiff/grad.ts).
   * Default: when the forward's values exceed `RECOMPUTE_ABOVE_BYTES`.
   */
  recompute?: boolean;
}

/**
 * Bytes of forward values (every value the loss depends on, `graphMemory`) above which a step
 * recomputes activations by default: such steps trade a few element-wise passes for memory, smaller
 * ones keep their speed. SQUID at 128 px, batch 16 (discriminator 4.2 GB, generator 6.3 GB of forward
 * values): peak RSS 3442 → 3053 MB with recomputation and its session settings (runtime.ts
 * `RECOMPUTE_DISABLED_OPTIMIZERS`). The reference AE at 256 px, batch 16 (0.8 GB) was slower with them:
 * 626 → 661 ms with recomputation, 574 → 626 ms with the transformers off (interleaved A/B on this
 * 2-core machine, 2026-12-04).
 */
export const RECOMPUTE_ABOVE_BYTES = 2 * 2 ** 30;

export interface StepResult {
  loss: number;
  /** The extra outputs; these arrays are reused and overwritten by the next run (copy to keep). */
  outputs: Record<string, HostArray>;
}

/**
 * Checkpointable optimiser state: "step" holds the number of completed updates (one value, exact up to
 * 2^24), and each moment tensor is keyed `<state name>/<parameter path>`, e.g. "exp_avg/e1.weight".
 */
export type OptimizerState = Record<string, Float32Array>;

/**
 * One double-buffered buffer: read from `current()` as graph input `input`, written by the graph as
 * output `output` into `spare`, then swapped in with `replace`.
 */
interface StateCell {
  input: string;
  output: string;
  size: number;
  current(): Float32Array;
  replace(next: Float32Array): void;
  spare: Float32Array;
}

function parameterCell(p: Parameter, input: string, output: string): StateCell {
  return {
    input,
    output,
    size: p.size,
    current: () => p.value,
    replace: (next) => {
      p.value = next;
    },
    spare: new Float32Array(p.size),
  };
}

/**
 * A trained parameter: its graph input name, its gradient's graph output and its optimiser state
 * (zero-initialised). The step lists them in the order of the gradient checks.
 */
interface TrainedParameter {
  parameter: Parameter;
  name: string;
  gradOutput: string;
  state: Float32Array[];
}

/** Graph input names of every bound parameter and buffer. */
type BoundState = ReadonlyArray<readonly [string, Parameter]>;

/**
 * Feed every bound parameter and buffer, and point each cell's output at its spare array
 * (re-allocating a spare that was taken elsewhere).
 */
function prepareState(
  bound: BoundState,
  cells: readonly StateCell[],
  feeds: Record<string, HostArray>,
  into: Record<string, HostArray>,
): void {
  for (const [name, p] of bound) feeds[name] = p.value;
  for (const cell of cells) {
    const current = cell.current();
    if (current.length !== cell.size)
      throw new EngineError(`state "${cell.input}" has ${current.length} values, expected ${cell.size}`);
    if (cell.spare === current) cell.spare = new Float32Array(cell.size);
    feeds[cell.input] = current;
    into[cell.output] = cell.spare;
  }
}

/** Swap every cell's freshly written spare array in and keep the old value as the next spare. */
function commitCells(cells: readonly StateCell[]): void {
  for (const cell of cells) {
    const previous = cell.current();
    cell.replace(cell.spare);
    cell.spare = previous;
  }
}

/** Bind every module (prefixed by its index when there are several) in the current trace. */
function bindModules(modules: readonly Module[]): { binding: Binding; bound: BoundState } {
  if (modules.length === 0) throw new Error("a step needs at least one module");
  let binding: Binding | undefined;
  modules.forEach((m, i) => {
    binding = bind(m, modules.length > 1 ? `${i}.` : "");
  });
  const bound = [...binding!.names].map(([p, name]) => [name, p] as const);
  return { binding: binding!, bound };
}

function declareInputs<S extends InputSpec, I extends Record<string, S>>(
  specs: I,
  shapeOf: (name: string, spec: S) => readonly number[],
): InputTensors<I> {
  const tensors: Record<string, Tensor> = {};
  for (const [name, spec] of Object.entries(specs)) {
    tensors[name] = T.input(name, shapeOf(name, spec), spec.dtype ?? "float32");
  }
  return tensors as InputTensors<I>;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, d) => a * d, 1);
}

/** Cells for the buffers updated by forward (batch-norm statistics, queues). */
function bufferCells(binding: Binding, outputs: Record<string, Tensor>): StateCell[] {
  const cells: StateCell[] = [];
  for (const [p, next] of binding.updates) {
    const name = binding.names.get(p)!;
    const output = `next.${name}`;
    outputs[output] = next;
    cells.push(parameterCell(p, name, output));
  }
  return cells;
}

export class TrainingStep<I extends InputSpecs> {
  private running = false;
  private completed = 0;
  private readonly lossBuffer = new Float32Array(1);
  private readonly finiteBuffer = new Uint8Array(1);
  private checksBuffer: Float32Array | undefined;

  /** @internal use `compileStep`. */
  constructor(
    readonly name: string,
    private readonly compiled: CompiledGraph,
    private readonly optimizer: StepOptimizer,
    private readonly bound: BoundState,
    private readonly cells: readonly StateCell[],
    private readonly trained: readonly TrainedParameter[],
    /** Each optimiser state array, keyed as in `OptimizerState`. */
    private readonly moments: ReadonlyMap<string, Float32Array>,
    private readonly extraBuffers: Record<string, HostArray>,
    private readonly extraNames: Record<string, string>,
  ) {}

  /** Number of completed optimiser updates (the next update is number `stepCount + 1`). */
  get stepCount(): number {
    return this.completed;
  }

  /** Convolution and matrix-product FLOPs of one step (forward, backward; see `graphFlops`). */
  get flops(): number {
    return this.compiled.flops;
  }

  /** The ONNX model of the whole step (for inspection and profiling). */
  get modelBytes(): Uint8Array {
    return this.compiled.modelBytes;
  }

  /**
   * One optimiser step on `feeds`. `lr` overrides the optimiser's learning rate for this step (host
   * schedules). Throws `NonFiniteError` without changing any state when the loss or a gradient is NaN
   * or infinite.
   */
  async run(feeds: Feeds<I>, options: { lr?: number } = {}): Promise<StepResult> {
    if (this.running)
      throw new EngineError(`step "${this.name}" is already running (await the previous run)`);
    this.running = true;
    try {
      const lr = options.lr ?? this.optimizer.lr;
      const allFeeds: Record<string, HostArray> = { ...(feeds as Record<string, HostArray>) };
      this.checksBuffer ??= new Float32Array(this.trained.length + 1);
      const into: Record<string, HostArray> = {
        loss: this.lossBuffer,
        [FINITE_OUTPUT]: this.finiteBuffer,
        [CHECKS_OUTPUT]: this.checksBuffer,
      };
      for (const [output, buffer] of Object.entries(this.extraBuffers)) into[output] = buffer;
      prepareState(this.bound, this.cells, allFeeds, into);
      // Gradients are taken from the binding's fresh output arrays (it returns one per output even
      // when it has written into a given buffer), so no gradient array is kept between steps.
      const results = await this.compiled.run(allFeeds, into);
      const loss = this.lossBuffer[0];
      if (!this.finiteBuffer[0]) this.throwNonFinite(loss);
      commitCells(this.cells);
      const slots: ParameterSlot[] = this.trained.map(({ parameter, gradOutput, state }) => ({
        values: parameter.value,
        grad: results[gradOutput] as Float32Array,
        state,
      }));
      this.optimizer.update(slots, this.completed + 1, lr);
      for (const { parameter } of this.trained) parameter.changedInPlace();
      this.completed++;
      const outputs: Record<string, HostArray> = {};
      for (const [name, output] of Object.entries(this.extraNames)) outputs[name] = this.extraBuffers[output];
      return { loss, outputs };
    } finally {
      this.running = false;
    }
  }

  /** Name what the graph's finiteness flag found: the loss, else the first parameter whose gradient. */
  private throwNonFinite(loss: number): never {
    const update = this.completed + 1;
    if (!Number.isFinite(loss))
      throw new NonFiniteError(`loss of step "${this.name}"`, `(${loss} at update ${update})`);
    const index = this.checksBuffer!.findIndex((check, i) => i > 0 && check !== 0);
    const parameter = this.trained[index - 1].name;
    throw new NonFiniteError(
      `gradient of "${parameter}" in step "${this.name}"`,
      `(at update ${update}; loss ${loss}; nothing was updated)`,
      parameter,
    );
  }

  /** A copy of the optimiser state (moments and step count) for checkpoints. */
  optimizerState(): OptimizerState {
    const state: OptimizerState = { step: Float32Array.of(this.completed) };
    for (const [key, moment] of this.moments) state[key] = moment.slice();
    return state;
  }

  /** Restore state saved by `optimizerState` (same parameters and optimiser kind). */
  loadOptimizerState(state: OptimizerState): void {
    const step = state.step?.length === 1 ? state.step[0] : Number.NaN;
    if (!Number.isInteger(step) || step < 0)
      throw new Error("optimiser state: the step count is missing or invalid");
    for (const key of Object.keys(state))
      if (key !== "step" && !this.moments.has(key))
        throw new Error(`optimiser state: unknown tensor "${key}" for step "${this.name}"`);
    for (const [key, moment] of this.moments) {
      const saved = state[key];
      if (!saved) throw new Error(`optimiser state: tensor "${key}" is missing`);
      if (saved.length !== moment.length)
        throw new Error(`optimiser state: "${key}" has ${saved.length} values, expected ${moment.length}`);
      moment.set(saved);
    }
    this.completed = step;
  }

  /** Write the ORT profile of the runs so far (only with `RuntimeOptions.profilePrefix`). */
  endProfiling(): void {
    this.compiled.endProfiling();
  }

  async release(): Promise<void> {
    await this.compiled.release();
  }
}

/** Trace, differentiate and compile one training step (see the module comment). */
type StepObserver = (step: TrainingStep<InputSpecs>) => void;
const stepObservers = new Set<StepObserver>();

/**
 * Call `observer` with every training step compiled from now on, so benchmarks and diagnostics see a
 * method's steps (name, FLOPs, number of runs) without reaching into the method; returns the function
 * that stops observing.
 */
export function observeCompiledSteps(observer: StepObserver): () => void {
  stepObservers.add(observer);
  return () => stepObservers.delete(observer);
}

export async function compileStep<I extends InputSpecs>(options: StepOptions<I>): Promise<TrainingStep<I>> {
  const { optimizer } = options;
  const outputs: Record<string, Tensor> = {};
  const cells: StateCell[] = [];
  const trained: TrainedParameter[] = [];
  const moments = new Map<string, Float32Array>();
  const extraNames: Record<string, string> = {};

  let bound: BoundState = [];
  let recompute = false;
  const { graph } = trace(() => {
    const bindings = bindModules(options.modules);
    const binding = bindings.binding;
    bound = bindings.bound;
    const inputs = declareInputs(options.inputs, (_, spec) => spec.shape);
    const built = options.build(inputs);
    if (built.loss.size !== 1 || built.loss.dtype !== "float32")
      throw new Error(`step "${options.name}": the loss must be one float32 value, got ${built.loss}`);
    outputs.loss = built.loss;
    for (const [name, tensor] of Object.entries(built.extraOutputs ?? {})) {
      extraNames[name] = `output.${name}`;
      outputs[`output.${name}`] = tensor;
    }

    const trainable = [
      ...new Set(options.trainable ?? options.modules.flatMap((m) => m.namedParameters().map(([, p]) => p))),
    ];
    for (const p of trainable) {
      if (!p.trainable)
        throw new Error(`step "${options.name}": a buffer cannot be trained by the optimiser`);
      if (!binding.tensors.has(p))
        throw new Error(
          `step "${options.name}": a trainable parameter does not belong to the step's modules`,
        );
    }
    const values = trainable.map((p) => binding.tensors.get(p)!);
    recompute =
      options.recompute ?? graphMemory(built.loss.graph, [built.loss]).valueBytes > RECOMPUTE_ABOVE_BYTES;
    const grads = grad(built.loss, values, { recompute });
    trainable.forEach((p, i) => {
      const name = binding.names.get(p)!;
      const gradOutput = `grad.${name}`;
      outputs[gradOutput] = grads[i];
      const state = optimizer.stateNames.map((stateName) => {
        const moment = new Float32Array(p.size);
        moments.set(`${stateName}/${name}`, moment);
        return moment;
      });
      trained.push({ parameter: p, name, gradOutput, state });
    });
    withScope("finiteness", () => {
      // One read of each gradient: its sum is NaN or ±∞ when an entry is, and s·0 is 0 only for a
      // finite s. A finite gradient whose sum overflows float32 (|Σg| > 3.4e38) counts as non-finite
      // too; its square would already be infinite in Adam's second moment.
      const checks = [built.loss, ...grads].map((t) => T.reshape(T.mul(T.sum(t), 0), [1]));
      const perTensor = T.concat(checks, 0);
      outputs[FINITE_OUTPUT] = T.equal(T.sum(perTensor), 0);
      outputs[CHECKS_OUTPUT] = perTensor;
    });
    cells.push(...bufferCells(binding, outputs));
  });

  // Session settings of training steps, each with its measurement: `trainingRuntimeDefaults`.
  const compiled = await CompiledGraph.create(graph, outputs, {
    ...trainingRuntimeDefaults(),
    ...options.runtime,
    sessionConfig: { ...(recompute ? recomputeSessionConfig() : {}), ...options.runtime?.sessionConfig },
  });
  const extraBuffers: Record<string, HostArray> = {};
  for (const output of Object.values(extraNames)) {
    const tensor = outputs[output];
    extraBuffers[output] = allocate(tensor.dtype, tensor.size);
  }
  const step = new TrainingStep<I>(
    options.name,
    compiled,
    optimizer,
    bound,
    cells,
    trained,
    moments,
    extraBuffers,
    extraNames,
  );
  for (const observer of stepObservers) observer(step as unknown as TrainingStep<InputSpecs>);
  return step;
}

export interface FunctionInputSpec extends InputSpec {
  /** Whether the first axis is the batch axis, whose size is taken from each run's feed (default true). */
  batched?: boolean;
}

export type FunctionInputSpecs = Record<string, FunctionInputSpec>;

export interface FunctionOptions<I extends FunctionInputSpecs> {
  name?: string;
  modules: readonly Module[];
  inputs: I;
  /** Traced forward; runs once per batch size, in the modules' train/eval mode at that time. */
  build: (inputs: InputTensors<I>) => Record<string, Tensor>;
  /**
   * Embed the values of the modules' parameters and buffers in the compiled graph (ONNX initializers)
   * instead of feeding them at every run, so that ONNX Runtime can fold and fuse them (batch norm
   * into the convolution before it, activations into convolutions). Buffers that the forward updates
   * are still fed. Default: true when every module (and sub-module) is in evaluation mode when the
   * function is created. A frozen function notices any write into a parameter (every write goes
   * through `Parameter` and bumps its version: training steps, loading weights, resuming) and
   * recompiles before the next run.
   */
  frozen?: boolean;
  runtime?: RuntimeOptions;
}

interface CompiledShape {
  compiled: CompiledGraph;
  /** Parameters and buffers fed at every run (all of them unless frozen). */
  bound: BoundState;
  cells: StateCell[];
  names: Record<string, string>;
  /** Each frozen parameter with the version whose values were embedded. */
  snapshot: ReadonlyArray<readonly [Parameter, number]>;
}

/** An inference function compiled once per batch size; buffer updates (if any) are fed back. */
export class CompiledFunction<I extends FunctionInputSpecs = FunctionInputSpecs> {
  private readonly cache = new Map<number, Promise<CompiledShape>>();

  private readonly options: FunctionOptions<FunctionInputSpecs>;
  /** Whether parameter values are embedded (see `FunctionOptions.frozen`). */
  readonly frozen: boolean;

  /** @internal use `compileFunction`. */
  constructor(options: FunctionOptions<I>) {
    this.options = options as unknown as FunctionOptions<FunctionInputSpecs>;
    this.frozen = options.frozen ?? options.modules.every((m) => !m.anyTraining());
  }

  /** Batch sizes compiled so far. */
  get compiledBatchSizes(): number[] {
    return [...this.cache.keys()];
  }

  /** Run on `feeds`; the batch size is read from the feeds. Returns freshly allocated outputs. */
  async run(feeds: Feeds<I>): Promise<Record<string, HostArray>> {
    const batch = this.batchOf(feeds as Record<string, HostArray>);
    let shape = await this.prepare(batch);
    if (shape.snapshot.some(([p, version]) => p.version !== version)) {
      // Drop every compiled shape, so that each compiles again with the parameters' current values.
      await this.release();
      shape = await this.prepare(batch);
    }
    const { compiled, bound, cells, names } = shape;
    const allFeeds: Record<string, HostArray> = { ...(feeds as Record<string, HostArray>) };
    const into: Record<string, HostArray> = {};
    prepareState(bound, cells, allFeeds, into);
    const results = await compiled.run(allFeeds, into);
    commitCells(cells);
    const outputs: Record<string, HostArray> = {};
    for (const [name, output] of Object.entries(names)) outputs[name] = results[output];
    return outputs;
  }

  /** The compiled graph for `batch` items, compiling it on first use. */
  prepare(batch: number): Promise<CompiledShape> {
    let entry = this.cache.get(batch);
    if (!entry) {
      entry = this.compile(batch);
      this.cache.set(batch, entry);
      entry.catch(() => this.cache.delete(batch));
    }
    return entry;
  }

  async release(): Promise<void> {
    const entries = [...this.cache.values()];
    this.cache.clear();
    for (const entry of entries) await (await entry).compiled.release();
  }

  private batchOf(feeds: Record<string, HostArray>): number {
    let batch: number | undefined;
    for (const [name, spec] of Object.entries(this.options.inputs)) {
      if (spec.batched === false) continue;
      const data = feeds[name];
      if (data === undefined) throw new EngineError(`missing input "${name}"`);
      const perItem = sizeOf(spec.shape.slice(1));
      const n = data.length / perItem;
      if (!Number.isInteger(n) || n < 1)
        throw new EngineError(
          `input "${name}" has ${data.length} values, not a whole batch of [${spec.shape.slice(1).join(", ")}]`,
        );
      if (batch !== undefined && n !== batch)
        throw new EngineError(`inputs disagree on the batch size (${batch} and ${n} for "${name}")`);
      batch = n;
    }
    return batch ?? 1;
  }

  private async compile(batch: number): Promise<CompiledShape> {
    const { graph, outputs, frozenValues, bound, cells, names, snapshot } = this.traceShape(batch);
    const compiled = await CompiledGraph.create(graph, outputs, this.options.runtime, frozenValues);
    return { compiled, bound, cells, names, snapshot };
  }

  /**
   * The ONNX model of this function with a symbolic batch axis: the graph that runs for each batch
   * size (traced, frozen and folded as for a run) with the batch-dependent shape constants computed
   * from the input's batch size (see export.ts). `inputs` and `outputs` rename the graph's inputs and
   * choose and rename its outputs (default: every output under its own name). Only for frozen
   * functions that update no buffers.
   */
  exportOnnx(naming: { inputs?: Record<string, string>; outputs?: Record<string, string> } = {}): Uint8Array {
    if (!this.frozen)
      throw new EngineError("export needs frozen weights: put the modules in evaluation mode first");
    const batched = Object.entries(this.options.inputs)
      .filter(([, spec]) => spec.batched !== false)
      .map(([name]) => naming.inputs?.[name] ?? name);
    if (batched.length === 0) throw new EngineError("export needs an input with a batch axis");
    const traces = EXPORT_TRACE_BATCHES.map((batch) => {
      const { graph, outputs, frozenValues, cells, names } = this.traceShape(batch);
      if (cells.length > 0)
        throw new EngineError(
          "export: the function updates buffers, which an exported graph cannot feed back",
        );
      for (const input of graph.inputs)
        input.inputName = naming.inputs?.[input.inputName!] ?? input.inputName;
      const chosen = naming.outputs ?? Object.fromEntries(Object.keys(names).map((name) => [name, name]));
      const named: Record<string, Tensor> = {};
      for (const [name, exported] of Object.entries(chosen)) {
        if (!names[name]) throw new EngineError(`export: the function has no output "${name}"`);
        named[exported] = outputs[names[name]];
      }
      return { graph, outputs: named, batch, frozen: frozenValues };
    });
    return exportBatchPolymorphic(traces, batched[0], traces[0].frozen);
  }

  /** Trace the function for `batch` items; with frozen weights, embed them and fold what they allow. */
  private traceShape(batch: number) {
    const outputs: Record<string, Tensor> = {};
    const names: Record<string, string> = {};
    let cells: StateCell[] = [];
    let bound: BoundState = [];
    const { graph } = trace(() => {
      const bindings = bindModules(this.options.modules);
      const binding = bindings.binding;
      bound = bindings.bound;
      const inputs = declareInputs(this.options.inputs, (_, spec: FunctionInputSpec) =>
        spec.batched === false ? spec.shape : [batch, ...spec.shape.slice(1)],
      );
      for (const [name, tensor] of Object.entries(this.options.build(inputs))) {
        names[name] = `output.${name}`;
        outputs[`output.${name}`] = tensor;
      }
      cells = bufferCells(binding, outputs);
    });
    const snapshot: Array<readonly [Parameter, number]> = [];
    const frozenValues = new Map<string, Float32Array>();
    if (this.frozen) {
      const updated = new Set(cells.map((cell) => cell.input));
      for (const [name, p] of bound) {
        if (updated.has(name)) continue;
        frozenValues.set(name, p.value);
        snapshot.push([p, p.version]);
      }
      bound = bound.filter(([name]) => !frozenValues.has(name));
      foldConvTransposeAffine(graph, outputs, frozenValues);
    }
    return { graph, outputs, frozenValues, bound, cells, names, snapshot };
  }
}

/**
 * An inference function of `modules` (see `CompiledFunction`), compiled now for the declared batch
 * size and later for any other batch size a run brings.
 */
export async function compileFunction<I extends FunctionInputSpecs>(
  options: FunctionOptions<I>,
): Promise<CompiledFunction<I>> {
  const fn = new CompiledFunction(options);
  const declared = Object.values(options.inputs).find((spec) => spec.batched !== false);
  await fn.prepare(declared?.shape[0] ?? 1);
  return fn;
}
