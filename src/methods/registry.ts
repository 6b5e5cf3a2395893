/**
 * The registry of methods by name, and strict config parsing: unknown keys are rejected with a
 * message naming the key and the allowed ones; wrong types name the key and the expected type.
 */
import { z } from "zod";
import { OptionError } from "../errors.js";
import type { MethodDefinition } from "./contract.js";

const methods = new Map<string, MethodDefinition>();

export function registerMethod<C extends object>(definition: MethodDefinition<C>): void {
  methods.set(definition.name, definition as unknown as MethodDefinition);
}

export function methodNames(): string[] {
  return [...methods.keys()].sort();
}

export function getMethod(name: string): MethodDefinition {
  const method = methods.get(name);
  if (!method) throw new OptionError(`unknown method "${name}" (available: ${methodNames().join(", ")})`);
  return method;
}

/** Parse a method config (defaults filled in), naming the offending key on error. */
export function parseMethodConfig(method: MethodDefinition, raw: unknown, source = "config"): object {
  const result = method.configSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue.code === "unrecognized_keys") {
    const allowed = allowedKeys(method.configSchema, issue.path);
    const where = issue.path.length ? `${issue.path.join(".")}.` : "";
    throw new OptionError(
      `${source}: unknown key "${where}${issue.keys[0]}" for method ${method.name} (allowed: ${allowed.join(", ")})`,
    );
  }
  throw new OptionError(
    `${source}: ${issue.path.join(".") || "(root)"}: ${issue.message} (method ${method.name})`,
  );
}

function allowedKeys(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  let current: z.ZodType = schema;
  for (const key of path) {
    const shape = objectShape(current);
    if (!shape || !(String(key) in shape)) return [];
    current = shape[String(key)];
  }
  return Object.keys(objectShape(current) ?? {});
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let s: z.ZodType = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s instanceof z.ZodObject ? (s.shape as Record<string, z.ZodType>) : undefined;
}
