/** The in-memory image type shared by readers, preprocessing, synthetic data and writers. */

/** A decoded image: planar (channel-major, C x H x W) float32 in [0, 1]. */
export interface Image {
  data: Float32Array;
  width: number;
  height: number;
  channels: number;
}

export function createImage(width: number, height: number, channels: number): Image {
  return { data: new Float32Array(width * height * channels), width, height, channels };
}
