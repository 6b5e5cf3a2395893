/**
 * Modules: named parameters and buffers with host values, organised as a tree like PyTorch's
 * nn.Module (paths such as "encoder.e2.weight").
 *
 * A module's forward is an ordinary function of tensors. While tracing, `bind(root)` turns every
 * parameter and buffer into a graph input named by its path; inside forward, `this.use(p)` returns the
 * bound tensor. Non-parameter state (batch-norm running statistics, memory queues) is updated by
 * `this.update(buffer, next)`; the binding collects those updates so a training step can output them
 * and feed them back on the next step.
 *
 * A resizable buffer (`resizableBuffer`) is state whose size is only known after fitting (a memory
 * bank of patch features, PatchCore): `resize` replaces its leading axis and its values; loading
 * weights or a checkpoint takes the stored leading axis. Compiled functions see the new shape because a replaced value
 * makes them trace again.
 */
import * as T from "./api.js";
import { currentGraph, type Graph, type Tensor } from "./ir.js";

/**
 * A parameter or buffer. Its values are changed only through this class — `value = array` (training
 * steps swap double-buffered buffers, methods replace statistics) or `assign(values)` (loading weights,
 * resuming, initialising) — never by writing into `value` in place, except by a training step's
 * optimiser, which calls `changedInPlace` after each update. All three bump `version`, which is how a
 * function with frozen weights knows to recompile (test/engine/guards.test.ts checks the sources).
 */
export class Parameter {
  private current: Float32Array;
  private currentShape: readonly number[];
  /**
   * Incremented by every write, so a function with frozen weights can tell that they changed — array
   * identity cannot: with two buffers, an even number of steps brings back the same array.
   */
  version = 0;

  constructor(
    shape: readonly number[],
    value: Float32Array,
    /** Trainable parameters get gradients and optimiser state; buffers (state) do not. */
    readonly trainable: boolean,
    /** Whether `resize` may change the leading axis (a buffer only). */
    readonly resizable = false,
  ) {
    if (resizable && trainable) throw new Error("only a buffer can be resizable");
    checkSize(shape, value);
    this.currentShape = shape;
    this.current = value;
  }

  get shape(): readonly number[] {
    return this.currentShape;
  }

  /** Whether `shape` differs from this parameter's only in the leading axis (what `resize` may change). */
  resizableTo(shape: readonly number[]): boolean {
    return this.resizable && shape.slice(1).join() === this.currentShape.slice(1).join();
  }

  /** Replace the leading axis and the values of a resizable buffer. */
  resize(shape: readonly number[], value: Float32Array): void {
    if (!this.resizableTo(shape))
      throw new Error(`cannot resize [${this.currentShape.join(", ")}] to [${shape.join(", ")}]`);
    checkSize(shape, value);
    this.currentShape = [...shape];
    this.current = value;
    this.version++;
  }

  get value(): Float32Array {
    return this.current;
  }

  /** Use `next` as the value array from now on (no copy). The one place that changes the values. */
  set value(next: Float32Array) {
    if (next.length !== this.current.length)
      throw new Error(`parameter value has ${next.length} values, expected ${this.current.length}`);
    this.current = next;
    this.version++;
  }

  /** Record that a training step's optimiser has updated `value` in place (src/engine/step.ts). */
  changedInPlace(): void {
    this.version++;
  }

  /** Write `values` (copied into a new array; the current array may be a feed that is still read). */
  assign(values: ArrayLike<number>): void {
    this.value = Float32Array.from(values);
  }

  get size(): number {
    return this.current.length;
  }
}

function checkSize(shape: readonly number[], value: Float32Array): void {
  const size = shape.reduce((a, d) => a * d, 1);
  if (value.length !== size)
    throw new Error(`parameter value has ${value.length} values for shape [${shape.join(", ")}]`);
}

export class Binding {
  readonly tensors = new Map<Parameter, Tensor>();
  readonly updates = new Map<Parameter, Tensor>();
  constructor(
    readonly graph: Graph,
    readonly names: Map<Parameter, string>,
  ) {}
}

const bindings = new WeakMap<Graph, Binding>();

export class Module {
  training = true;
  private readonly params = new Map<string, Parameter>();
  private readonly children = new Map<string, Module>();

  /** Register a trainable parameter. */
  protected parameter(name: string, shape: readonly number[], value: Float32Array): Parameter {
    return this.register(name, new Parameter(shape, value, true));
  }

  /** Register non-trainable state (running statistics, queues, counters). */
  protected buffer(name: string, shape: readonly number[], value: Float32Array): Parameter {
    return this.register(name, new Parameter(shape, value, false));
  }

  /** Register a buffer whose shape is set when the module is fitted or loaded (`Parameter.resize`). */
  protected resizableBuffer(name: string, shape: readonly number[], value: Float32Array): Parameter {
    return this.register(name, new Parameter(shape, value, false, true));
  }

  private register(name: string, p: Parameter): Parameter {
    if (this.params.has(name) || this.children.has(name)) throw new Error(`duplicate member name "${name}"`);
    this.params.set(name, p);
    return p;
  }

  /** Register a sub-module under `name`. */
  protected child<M extends Module>(name: string, module: M): M {
    if (this.params.has(name) || this.children.has(name)) throw new Error(`duplicate member name "${name}"`);
    this.children.set(name, module);
    return module;
  }

  /** Every parameter and buffer with its dotted path, in registration order (stable). */
  namedState(prefix = ""): Array<[string, Parameter]> {
    const out: Array<[string, Parameter]> = [];
    for (const [name, p] of this.params) out.push([`${prefix}${name}`, p]);
    for (const [name, m] of this.children) out.push(...m.namedState(`${prefix}${name}.`));
    return out;
  }

  namedParameters(): Array<[string, Parameter]> {
    return this.namedState().filter(([, p]) => p.trainable);
  }

  namedBuffers(): Array<[string, Parameter]> {
    return this.namedState().filter(([, p]) => !p.trainable);
  }

  parameterCount(): number {
    return this.namedParameters().reduce((a, [, p]) => a + p.size, 0);
  }

  /** Set training (true) or evaluation (false) mode on this module and all sub-modules. */
  train(mode = true): this {
    this.training = mode;
    for (const m of this.children.values()) m.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Whether this module or any sub-module is in training mode. */
  anyTraining(): boolean {
    return this.training || [...this.children.values()].some((m) => m.anyTraining());
  }

  /** The traced tensor of a parameter or buffer of this module (requires `bind`). */
  protected use(p: Parameter): Tensor {
    const binding = currentBinding();
    const t = binding.tensors.get(p);
    if (!t) throw new Error("parameter is not bound: call bind(model) inside the trace before forward");
    return t;
  }

  /** Record the next value of a buffer (output by the step and fed back next time). */
  protected update(p: Parameter, next: Tensor): void {
    if (p.trainable) throw new Error("update() is for buffers; parameters are changed by optimisers");
    if (next.shape.join() !== p.shape.join())
      throw new Error(`buffer update has shape [${next.shape}] instead of [${p.shape}]`);
    currentBinding().updates.set(p, next);
  }
}

function currentBinding(): Binding {
  const binding = bindings.get(currentGraph());
  if (!binding) throw new Error("no module is bound in the current trace: call bind(model) first");
  return binding;
}

/**
 * Declare every parameter and buffer of `root` as a graph input named by its path (optionally with a
 * prefix) in the current trace. Returns the binding (tensors and, after forward, buffer updates).
 */
export function bind(root: Module, prefix = ""): Binding {
  const graph = currentGraph();
  let binding = bindings.get(graph);
  if (!binding) {
    binding = new Binding(graph, new Map());
    bindings.set(graph, binding);
  }
  for (const [path, p] of root.namedState()) {
    if (binding.tensors.has(p)) continue;
    const name = `${prefix}${path}`;
    binding.tensors.set(p, T.input(name, p.shape));
    binding.names.set(p, name);
  }
  return binding;
}

/** Several networks under one root, named (e.g. "generator", "discriminator"), for saving and binding. */
export class ModuleGroup extends Module {
  constructor(members: Record<string, Module>) {
    super();
    for (const [name, module] of Object.entries(members)) this.child(name, module);
  }
}
