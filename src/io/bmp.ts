/**
 * BMP decoder, hand-written because sharp (libvips) has no BMP loader and the npm BMP packages either
 * decode to RGBA only (losing the grey/colour distinction), are unmaintained, or pull in a canvas
 * dependency; the uncompressed format needs about a hundred lines.
 *
 * Supported: BITMAPINFOHEADER and later (V4/V5) headers; uncompressed (BI_RGB) 1/4/8-bit palette, 24-bit
 * BGR and 32-bit BGRX/BGRA (alpha dropped); 32-bit BI_BITFIELDS with 8-bit masks; bottom-up (positive
 * height) and top-down (negative height) rows. A palette whose entries are all grey gives a 1-channel
 * image, any other image has 3 channels. RLE-compressed, 16-bit and OS/2 (12-byte header) files are
 * rejected as unsupported.
 */
import { InputFileError } from "../errors.js";
import { createImage, type Image } from "./image.js";

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

interface ChannelMask {
  shift: number;
  max: number;
}

function maskToChannel(file: string, mask: number): ChannelMask {
  if (mask === 0) throw new InputFileError(file, "unsupported", "BMP bit field mask is zero");
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const max = mask >>> shift;
  if ((max & (max + 1)) !== 0) throw new InputFileError(file, "unsupported", "non-contiguous BMP bit field");
  return { shift, max };
}

export function decodeBmp(file: string, bytes: Uint8Array): Image {
  if (bytes.length < 54) throw new InputFileError(file, "truncated", `BMP of ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pixelOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  if (headerSize < 40) throw new InputFileError(file, "unsupported", `BMP header of ${headerSize} bytes`);
  const width = view.getInt32(18, true);
  const signedHeight = view.getInt32(22, true);
  const bitsPerPixel = view.getUint16(28, true);
  const compression = view.getUint32(30, true);
  const coloursUsed = view.getUint32(46, true);
  const height = Math.abs(signedHeight);
  const topDown = signedHeight < 0;
  if (width <= 0 || height === 0 || width > 1 << 16 || height > 1 << 16)
    throw new InputFileError(file, "wrong-dimensions", `BMP of ${width}x${signedHeight} pixels`);

  const isPalette = bitsPerPixel === 1 || bitsPerPixel === 4 || bitsPerPixel === 8;
  const bitFields = compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS;
  if (!(isPalette || bitsPerPixel === 24 || bitsPerPixel === 32))
    throw new InputFileError(file, "unsupported", `BMP with ${bitsPerPixel} bits per pixel`);
  if (!(compression === BI_RGB || (bitsPerPixel === 32 && bitFields)))
    throw new InputFileError(file, "unsupported", `BMP compression ${compression} at ${bitsPerPixel} bits`);

  let masks: ChannelMask[] = [
    { shift: 16, max: 255 },
    { shift: 8, max: 255 },
    { shift: 0, max: 255 },
  ];
  if (bitFields) {
    const maskOffset = headerSize >= 52 ? 54 : 14 + headerSize;
    if (bytes.length < maskOffset + 12) throw new InputFileError(file, "truncated", "BMP bit field masks");
    masks = [0, 4, 8].map((delta) => maskToChannel(file, view.getUint32(maskOffset + delta, true)));
  }

  const palette: number[][] = [];
  if (isPalette) {
    const entries = coloursUsed === 0 ? 1 << bitsPerPixel : coloursUsed;
    const paletteOffset = 14 + headerSize;
    if (entries > 256 || paletteOffset + 4 * entries > bytes.length)
      throw new InputFileError(file, "truncated", `BMP palette of ${entries} entries`);
    for (let i = 0; i < entries; i++) {
      const at = paletteOffset + 4 * i;
      palette.push([bytes[at + 2], bytes[at + 1], bytes[at]]);
    }
  }

  const rowBytes = Math.ceil((bitsPerPixel * width) / 32) * 4;
  const needed = pixelOffset + rowBytes * (height - 1) + Math.ceil((bitsPerPixel * width) / 8);
  if (needed > bytes.length)
    throw new InputFileError(
      file,
      "truncated",
      `BMP pixel data needs ${needed} bytes, file has ${bytes.length}`,
    );

  const greyPalette = isPalette && palette.every(([r, g, b]) => r === g && g === b);
  const channels = greyPalette ? 1 : 3;
  const image = createImage(width, height, channels);
  const plane = width * height;
  for (let y = 0; y < height; y++) {
    const rowStart = pixelOffset + rowBytes * (topDown ? y : height - 1 - y);
    for (let x = 0; x < width; x++) {
      const target = y * width + x;
      if (isPalette) {
        const bitOffset = x * bitsPerPixel;
        const byte = bytes[rowStart + (bitOffset >> 3)];
        const index = (byte >> (8 - bitsPerPixel - (bitOffset & 7))) & ((1 << bitsPerPixel) - 1);
        const colour = palette[index];
        if (colour === undefined)
          throw new InputFileError(file, "corrupt", `BMP palette index ${index} of ${palette.length}`);
        for (let c = 0; c < channels; c++) image.data[c * plane + target] = colour[c] / 255;
      } else if (bitsPerPixel === 24) {
        const at = rowStart + 3 * x;
        image.data[target] = bytes[at + 2] / 255;
        image.data[plane + target] = bytes[at + 1] / 255;
        image.data[2 * plane + target] = bytes[at] / 255;
      } else {
        const pixel = view.getUint32(rowStart + 4 * x, true);
        for (let c = 0; c < 3; c++) {
          const { shift, max } = masks[c];
          image.data[c * plane + target] = ((pixel >>> shift) & max) / max;
        }
      }
    }
  }
  return image;
}
