/** Every built-in method, registered on import. Add a method by importing its definition here. */

import { aeMethod } from "./ae/index.js";
import { mamanetMethod } from "./mamanet/index.js";
import { memaeMethod } from "./memae/index.js";
import { registerMethod } from "./registry.js";
import { squidMethod } from "./squid/index.js";

registerMethod(aeMethod);
registerMethod(mamanetMethod);
registerMethod(memaeMethod);
registerMethod(squidMethod);

export type { MethodDefinition, MethodInstance } from "./contract.js";
export { getMethod, methodNames, parseMethodConfig } from "./registry.js";
