/**
 * Input format detection: magic bytes first (they cannot lie about the content), file extension second
 * (for DICOM files written without the 128-byte preamble and "DICM" marker).
 */

export type ImageFormat = "png" | "jpeg" | "tiff" | "bmp" | "webp" | "dicom" | "nifti" | "nifti-gz";

const extensionFormats: ReadonlyArray<[suffix: string, format: ImageFormat]> = [
  [".nii.gz", "nifti-gz"],
  [".nii", "nifti"],
  [".png", "png"],
  [".jpg", "jpeg"],
  [".jpeg", "jpeg"],
  [".tif", "tiff"],
  [".tiff", "tiff"],
  [".bmp", "bmp"],
  [".webp", "webp"],
  [".dcm", "dicom"],
  [".dicom", "dicom"],
];

/** The format implied by the file name's extension (case-insensitive), or undefined. */
export function formatFromExtension(path: string): ImageFormat | undefined {
  const lower = path.toLowerCase();
  return extensionFormats.find(([suffix]) => lower.endsWith(suffix))?.[1];
}

/**
 * True when the path has one of the supported extensions: png jpg jpeg tif tiff bmp webp dcm dicom nii
 * nii.gz. Extension-less files are not supported (they can still be read by `readImage` if their magic
 * bytes identify them).
 */
export function isSupportedImagePath(path: string): boolean {
  return formatFromExtension(path) !== undefined;
}

function startsWith(bytes: Uint8Array, signature: readonly number[], at = 0): boolean {
  if (bytes.length < at + signature.length) return false;
  return signature.every((value, i) => bytes[at + i] === value);
}

function ascii(text: string): number[] {
  return [...text].map((char) => char.charCodeAt(0));
}

/** True when the bytes start like a NIfTI-1 single-file or NIfTI-2 header (either byte order). */
export function looksLikeNiftiHeader(bytes: Uint8Array): boolean {
  if (bytes.length < 348) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = (littleEndian: boolean) => view.getInt32(0, littleEndian);
  if ((size(true) === 348 || size(false) === 348) && startsWith(bytes, ascii("n+1\0"), 344)) return true;
  return (size(true) === 540 || size(false) === 540) && startsWith(bytes, ascii("n+2\0"), 4);
}

/** The format identified by the first bytes (at least 348 are needed for NIfTI), or undefined. */
export function formatFromMagic(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a]))
    return "tiff";
  if (startsWith(bytes, [0x49, 0x49, 0x2b, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2b]))
    return "tiff";
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) return "webp";
  if (startsWith(bytes, ascii("DICM"), 128)) return "dicom";
  if (startsWith(bytes, [0x1f, 0x8b])) return "nifti-gz";
  if (looksLikeNiftiHeader(bytes)) return "nifti";
  if (startsWith(bytes, ascii("BM")) && bytes.length >= 26) return "bmp";
  return undefined;
}

/** Magic bytes first, extension second; undefined when neither identifies a supported format. */
export function detectFormat(path: string, head: Uint8Array): ImageFormat | undefined {
  return formatFromMagic(head) ?? formatFromExtension(path);
}
