/**
 * The base class of every layer in src/nn: a `Module` whose forward runs inside
 * `withScope(<layer path>)`, so a shape error names the layer (engine.md §3.1), e.g.
 * "Conv in encoder.e2: ...". The path is the explicit `name` given to the constructor, else the dotted
 * path under which the layer's parameters were bound (its place in the model tree), else the class name.
 */
import { Module, withScope } from "../engine/index.js";

export interface LayerOptions {
  /** Name reported in errors and ONNX node names; defaults to the layer's path in the model. */
  name?: string;
}

export abstract class Layer extends Module {
  constructor(private readonly explicitName?: string) {
    super();
  }

  /** The name this layer reports (see the file comment). Needs the model bound when not explicit. */
  path(): string {
    if (this.explicitName) return this.explicitName;
    const [first] = this.namedState();
    if (!first) return this.constructor.name;
    const [local, parameter] = first;
    const bound = this.use(parameter).inputName ?? "";
    return bound.endsWith(`.${local}`) ? bound.slice(0, -local.length - 1) : this.constructor.name;
  }

  /** Run `fn` (the layer's ops) inside this layer's scope. */
  protected scoped<T>(fn: () => T): T {
    return withScope(this.path(), fn);
  }
}
