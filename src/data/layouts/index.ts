/**
 * All layouts in detection priority order. `detectLayout` returns the first whose detector matches:
 * 1. manifest — a `.csv` root, or `manifest.csv` / `labels.csv` in the root (explicit metadata wins);
 * 2. mvtec3d  — `train/good/rgb` (category root or a folder of categories);
 * 3. bmad     — `train/good` + `test|valid/Ungood`;
 * 4. loco     — MVTec-style with `validation/good`, mask folders, or masks without `_mask`;
 * 5. mvtec    — `train/good` + `test/` (category root or a folder of categories);
 * 6. folders  — `train/<normal>` + `test/<class>`, or `<normal>/` + `<anomalous>/` class folders.
 * BMAD comes before LOCO and MVTec AD because a BMAD root also has `train/good` and `test/`; LOCO before
 * MVTec AD because every LOCO category also satisfies the MVTec AD detector.
 */
import { OptionError } from "../../errors.js";
import type { Layout } from "../types.js";
import { bmad } from "./bmad.js";
import { folders } from "./folders.js";
import { loco } from "./loco.js";
import { manifest } from "./manifest.js";
import { mvtec } from "./mvtec.js";
import { mvtec3d } from "./mvtec3d.js";

export const LAYOUTS: readonly Layout[] = [manifest, mvtec3d, bmad, loco, mvtec, folders];

/** The layout called `name`; an OptionError listing the known names otherwise. */
export function layoutByName(name: string): Layout {
  const layout = LAYOUTS.find((l) => l.name === name);
  if (layout === undefined)
    throw new OptionError(`--layout ${name}: unknown (known: ${LAYOUTS.map((l) => l.name).join(", ")})`);
  return layout;
}

export { type ExplicitFolders, indexExplicitFolders } from "./folders.js";
