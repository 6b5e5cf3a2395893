/**
 * Resizable buffers (a memory bank whose size is known only after fitting): loading takes the stored
 * leading axis, refuses a different trailing shape with the tensor named, and a frozen compiled
 * function traces again with the new shape after `resize`.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as T from "../../src/engine/index.js";
import {
  compileFunction,
  loadSafetensors,
  Module,
  type Parameter,
  saveSafetensors,
} from "../../src/engine/index.js";

class Bank extends Module {
  readonly rows: Parameter;
  constructor(rows: number, width: number) {
    super();
    this.rows = this.resizableBuffer("rows", [rows, width], new Float32Array(rows * width).fill(1));
    this.eval();
  }
  sumOfRows(): T.Tensor {
    return T.sum(this.use(this.rows), 0);
  }
}

describe("resizable buffers", () => {
  it("load the stored leading axis, refuse another trailing shape, and retrace a frozen function", async () => {
    const dir = mkdtempSync(join(tmpdir(), "anomalyscope-resizable-"));
    const fitted = new Bank(4, 3);
    fitted.rows.resize(
      [4, 3],
      Float32Array.from({ length: 12 }, (_, i) => i),
    );
    await saveSafetensors(join(dir, "a.safetensors"), fitted);
    await saveSafetensors(join(dir, "b.safetensors"), new Bank(4, 2));

    const bank = new Bank(1, 3);
    const fn = await compileFunction({
      modules: [bank],
      inputs: { x: { shape: [1, 3] } },
      build: ({ x }) => ({ y: T.add(x, bank.sumOfRows()) }),
    });
    expect([...((await fn.run({ x: new Float32Array(3) })).y as Float32Array)]).toEqual([1, 1, 1]);
    await loadSafetensors(join(dir, "a.safetensors"), bank);
    expect(bank.rows.shape).toEqual([4, 3]);
    expect([...((await fn.run({ x: new Float32Array(3) })).y as Float32Array)]).toEqual([18, 22, 26]);
    await fn.release();
    await expect(loadSafetensors(join(dir, "b.safetensors"), bank)).rejects.toThrow(
      /tensor "rows" has shape \[4, 2\]/,
    );
    expect(() => bank.rows.resize([2, 2], new Float32Array(4))).toThrow(/cannot resize/);
  });
});
