/**
 * Training steps drop ONNX Runtime's arena exactly when glibc malloc keeps freed memory
 * (engine/runtime.ts, `trainingRuntimeDefaults`), and the memory pattern always.
 */
import { describe, expect, it } from "vitest";
import {
  mallocRetainsMemory,
  RETAINING_MALLOC_ENV,
  trainingRuntimeDefaults,
  usesGlibc,
} from "../../src/engine/runtime.js";

describe("training runtime defaults", () => {
  const plain: NodeJS.ProcessEnv = { PATH: "/usr/bin" };
  it("keeps the arena unless every retaining-malloc setting is in the environment", () => {
    expect(trainingRuntimeDefaults(plain)).toEqual({ optimizationLevel: "extended", memoryPattern: false });
    const partial = { ...plain, MALLOC_ARENA_MAX: "1" };
    expect(trainingRuntimeDefaults(partial)).toEqual({ optimizationLevel: "extended", memoryPattern: false });
    expect(mallocRetainsMemory(partial)).toBe(false);
  });
  it.runIf(usesGlibc())("turns the arena off on glibc with the settings", () => {
    expect(mallocRetainsMemory({ ...plain, ...RETAINING_MALLOC_ENV })).toBe(true);
    expect(trainingRuntimeDefaults({ ...plain, ...RETAINING_MALLOC_ENV })).toEqual({
      optimizationLevel: "extended",
      memoryPattern: false,
      memoryArena: false,
    });
  });
});
