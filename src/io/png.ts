/**
 * PNG output (8-bit or 16-bit, grey or RGB) for maps, overlays, masks and synthetic data, written atomically.
 * sharp picks the raw input depth from the typed array's class, so 16-bit samples must be handed over as a
 * `Uint16Array` (a byte view of it would be read as 8-bit samples).
 */
import sharp from "sharp";
import { writeFileAtomic } from "../util/atomic.js";
import type { Image } from "./image.js";

export interface PngOptions {
  bitDepth?: 8 | 16;
}

/** Encode an image (values clipped to [0, 1]) as PNG bytes. */
export async function encodePng(image: Image, options: PngOptions = {}): Promise<Uint8Array> {
  const { width, height, channels, data } = image;
  if (channels !== 1 && channels !== 3)
    throw new Error(`encodePng: channels must be 1 or 3, got ${channels}`);
  if (width < 1 || height < 1 || data.length !== width * height * channels)
    throw new Error(`encodePng: ${width}x${height}x${channels} image has ${data.length} values`);
  const bitDepth = options.bitDepth ?? 8;
  const plane = width * height;
  const max = bitDepth === 16 ? 65535 : 255;
  const pixels = bitDepth === 16 ? new Uint16Array(plane * channels) : new Uint8Array(plane * channels);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < plane; i++) {
      const v = data[c * plane + i];
      pixels[i * channels + c] = Math.round(Math.min(1, Math.max(0, Number.isNaN(v) ? 0 : v)) * max);
    }
  }
  const input = sharp(pixels, { raw: { width, height, channels } });
  const colour = channels === 1 ? (bitDepth === 16 ? "grey16" : "b-w") : bitDepth === 16 ? "rgb16" : "srgb";
  return new Uint8Array(await input.toColourspace(colour).png({ compressionLevel: 6 }).toBuffer());
}

export async function writePng(path: string, image: Image, options: PngOptions = {}): Promise<void> {
  await writeFileAtomic(path, await encodePng(image, options));
}
