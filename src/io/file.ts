/**
 * Reading an input file into memory with typed errors: a missing, unreadable, directory or zero-byte path
 * becomes an `InputFileError` instead of a raw Node `ENOENT`/`EISDIR` exception.
 */
import { open, readFile } from "node:fs/promises";
import { InputFileError } from "../errors.js";

function translateFsError(file: string, error: unknown): InputFileError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") return new InputFileError(file, "missing");
  if (code === "EISDIR") return new InputFileError(file, "not-an-image", "is a directory");
  return new InputFileError(file, "missing", `not readable: ${code ?? String(error)}`);
}

/** The whole file; throws `InputFileError` "missing" or "empty". */
export async function readInputFile(file: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw translateFsError(file, error);
  }
  if (bytes.length === 0) throw new InputFileError(file, "empty", "0 bytes");
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** At most the first `length` bytes of the file (fewer if it is shorter); throws like `readInputFile`. */
export async function readInputFileHead(file: string, length: number): Promise<Uint8Array> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(file, "r");
    const head = new Uint8Array(length);
    const { bytesRead } = await handle.read(head, 0, length, 0);
    if (bytesRead === 0) throw new InputFileError(file, "empty", "0 bytes");
    return head.subarray(0, bytesRead);
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    throw translateFsError(file, error);
  } finally {
    await handle?.close();
  }
}
