/** Every built-in method, registered on import. Add a method by importing its definition here. */

import { aeMethod } from "./ae/index.js";
import { daadMethod } from "./daad/index.js";
import { mamanetMethod } from "./mamanet/index.js";
import { memaeMethod } from "./memae/index.js";
import { multiadMethod } from "./multiad/index.js";
import { patchcoreMethod } from "./patchcore/index.js";
import { registerMethod } from "./registry.js";
import { squidMethod } from "./squid/index.js";

registerMethod(aeMethod);
registerMethod(memaeMethod);
registerMethod(squidMethod);
registerMethod(mamanetMethod);
registerMethod(daadMethod);
registerMethod(multiadMethod);
registerMethod(patchcoreMethod);

export type { MethodDefinition, MethodInstance } from "./contract.js";
export { getMethod, methodNames, parseMethodConfig } from "./registry.js";
