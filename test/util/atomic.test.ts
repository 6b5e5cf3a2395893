/**
 * Atomic writes (issue 24): the temporary file is fsynced before the rename and the folder after it,
 * so a power loss cannot leave a renamed but empty checkpoint; orphan temporary files of killed writes
 * are found and removed, other files are not.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

const events: string[] = [];

vi.mock("node:fs/promises", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs/promises")>();
  return {
    ...actual,
    open: async (...args: Parameters<typeof actual.open>) => {
      const handle = await actual.open(...args);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        events.push(`sync ${String(args[0]).split("/").pop()}`);
        return sync();
      };
      return handle;
    },
    rename: async (from: string, to: string) => {
      events.push(`rename ${to.split("/").pop()}`);
      return actual.rename(from, to);
    },
  };
});

const { removeOrphanTemporaryFiles, writeFileAtomic } = await import("../../src/util/atomic.js");

describe("writeFileAtomic", () => {
  it("fsyncs the file before the rename and the folder after it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "anomalyscope-atomic-"));
    events.length = 0;
    await writeFileAtomic(join(dir, "model.bin"), new Uint8Array([1, 2, 3]));
    expect(readFileSync(join(dir, "model.bin"))).toEqual(Buffer.from([1, 2, 3]));
    expect(events).toHaveLength(3);
    expect(events[0]).toMatch(/^sync \.model\.bin\.[0-9a-f]{8}\.tmp$/);
    expect(events[1]).toBe("rename model.bin");
    expect(events[2]).toBe(`sync ${dir.split("/").pop()}`);
  });

  it("removes orphan temporary files and nothing else", async () => {
    const dir = mkdtempSync(join(tmpdir(), "anomalyscope-atomic-"));
    for (const name of [".checkpoint.safetensors.0a1b2c3d.tmp", "keep.tmp", ".keep.zz.tmp", "model.bin"])
      writeFileSync(join(dir, name), "x");
    expect(await removeOrphanTemporaryFiles(dir)).toEqual([".checkpoint.safetensors.0a1b2c3d.tmp"]);
    expect(["keep.tmp", ".keep.zz.tmp", "model.bin"].every((n) => existsSync(join(dir, n)))).toBe(true);
  });
});
