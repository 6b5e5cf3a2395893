/** Every built-in method, registered on import. Add a method by importing its definition here. */
import { registerMethod } from "./registry.js";
import { aeMethod } from "./ae/index.js";

registerMethod(aeMethod);

export { getMethod, methodNames, parseMethodConfig } from "./registry.js";
export type { MethodDefinition, MethodInstance } from "./contract.js";
