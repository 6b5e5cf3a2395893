/**
 * The library's model handle (issue 24): `predict` after `close()` throws a typed error, `predict` of a
 * Buffer decodes it (the same prediction as its file), and loading refuses a model whose scoring would
 * exceed the memory limit.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadModel, MemoryLimitError, ModelClosedError, UserError } from "../../src/index.js";
import { train } from "../../src/train/trainer.js";
import { tempDir, tinyDataset } from "../e2e/helpers.js";

let data: string;
let modelDir: string;

beforeAll(async () => {
  data = await tinyDataset();
  modelDir = join(tempDir("lib-model"), "ae");
  await train({ data, method: "ae", epochs: 1, batchSize: 8, imageSize: 32, out: modelDir, quiet: true });
}, 120_000);

describe("AnomalyModel", () => {
  it("predict(Buffer) decodes the bytes and equals predict(path)", async () => {
    const model = await loadModel(modelDir);
    try {
      const file = join(data, "test/good/000.png");
      const fromPath = await model.predict(file);
      const fromBuffer = await model.predict(readFileSync(file));
      expect(fromBuffer.score).toBe(fromPath.score);
      expect(fromBuffer.rawMap).toEqual(fromPath.rawMap);
      await expect(model.predict(Buffer.from("not an image"))).rejects.toThrow(/<buffer>: not an image/);
      await expect(model.predict(undefined as never)).rejects.toThrow(UserError);
    } finally {
      await model.close();
    }
  });

  it("predict after close() throws ModelClosedError naming the model", async () => {
    const model = await loadModel(modelDir);
    await model.close();
    const attempt = model.predict(join(data, "test/good/000.png"));
    await expect(attempt).rejects.toBeInstanceOf(ModelClosedError);
    await expect(attempt).rejects.toThrow(/closed/);
  });

  it("loadModel refuses scoring above maxMemory before building the network", async () => {
    await expect(loadModel(modelDir, { maxMemory: 1e5 })).rejects.toBeInstanceOf(MemoryLimitError);
    await expect(loadModel(modelDir, { maxMemory: 1e5 })).rejects.toThrow(
      /needs about .* more than the limit 100\.0 kB/,
    );
  });
});
