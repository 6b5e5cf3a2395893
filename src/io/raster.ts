/**
 * Raster images (PNG, JPEG, TIFF, WebP) decoded through sharp into planar float32 in [0, 1].
 *
 * The channel count is kept: grey (with or without alpha) becomes 1 channel, colour becomes 3 (alpha is
 * dropped, palettes are expanded to RGB, CMYK is converted to sRGB). 16-bit samples are read at full
 * precision (divided by 65535); 8-bit samples are divided by 255. Other sample formats (float or 32-bit
 * integer TIFFs) are rejected as unsupported rather than guessed. No EXIF orientation is applied: pixels are
 * returned as stored. sharp's exceptions are translated into `InputFileError`s.
 */
import sharp from "sharp";
import { InputFileError } from "../errors.js";
import { createImage, type Image } from "./image.js";

/** Map a sharp/libvips error message to the closest `InputFileError` reason. */
function translateSharpError(file: string, error: unknown): InputFileError {
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split("\n")[0].trim();
  if (/unsupported image format/i.test(message)) return new InputFileError(file, "not-an-image", firstLine);
  if (
    /premature end|truncated|read error|unexpected end|not enough data|out of data|short read/i.test(message)
  )
    return new InputFileError(file, "truncated", firstLine);
  if (/pixel limit|dimensions/i.test(message)) return new InputFileError(file, "wrong-dimensions", firstLine);
  return new InputFileError(file, "corrupt", firstLine);
}

/** Decode PNG/JPEG/TIFF/WebP bytes (format recognised by sharp from the content). */
export async function decodeRaster(file: string, bytes: Uint8Array): Promise<Image> {
  try {
    const source = sharp(bytes, { failOn: "truncated" });
    const metadata = await source.metadata();
    if (metadata.depth !== "uchar" && metadata.depth !== "ushort")
      throw new InputFileError(file, "unsupported", `sample format ${metadata.depth ?? "unknown"}`);
    const sixteenBit = metadata.depth === "ushort";
    const colourChannels = (metadata.channels ?? 0) - (metadata.hasAlpha ? 1 : 0);
    const grey = colourChannels === 1 && !metadata.isPalette;
    const channels = grey ? 1 : 3;
    const colourspace = grey ? (sixteenBit ? "grey16" : "b-w") : sixteenBit ? "rgb16" : "srgb";
    const { data, info } = await source
      .removeAlpha()
      .toColourspace(colourspace)
      .raw({ depth: sixteenBit ? "ushort" : "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== channels)
      throw new InputFileError(
        file,
        "unsupported",
        `decoded to ${info.channels} channels, expected ${channels}`,
      );
    const samples = sixteenBit
      ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const scale = sixteenBit ? 65535 : 255;
    const image = createImage(info.width, info.height, channels);
    const plane = info.width * info.height;
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < plane; i++) image.data[c * plane + i] = samples[i * channels + c] / scale;
    }
    return image;
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    throw translateSharpError(file, error);
  }
}
