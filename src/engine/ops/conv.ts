/**
 * 2-D convolution primitives in NCHW (ONNX semantics): Conv and ConvTranspose with strides, explicit
 * pads [top, left, bottom, right], dilations, groups and (transposed) output_padding; MaxPool with its
 * flat int64 Indices output (used by the max-pool gradient). ONNX (and PyTorch) allow an output_padding
 * below the stride or the dilation; ONNX Runtime rejects one that is not below the stride, so tracing does.
 * MaxPool pads must be smaller than the kernel (ONNX Runtime's rule; no window lies wholly in padding).
 */
import type { Attrs } from "../ir.js";
import { type NDArray, ndarray } from "../ndarray.js";
import { intAttr, intsAttr, type OpSpec } from "./spec.js";

export interface ConvGeometry {
  strides: [number, number];
  pads: [number, number, number, number];
  dilations: [number, number];
  group: number;
}

export function convGeometry(attrs: Attrs): ConvGeometry {
  const s = intsAttr(attrs, "strides", [1, 1]);
  const p = intsAttr(attrs, "pads", [0, 0, 0, 0]);
  const d = intsAttr(attrs, "dilations", [1, 1]);
  return {
    strides: [s[0], s[1]],
    pads: [p[0], p[1], p[2], p[3]],
    dilations: [d[0], d[1]],
    group: intAttr(attrs, "group", 1),
  };
}

export function convOutSize(
  input: number,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation: number,
): number {
  return Math.floor((input + padBegin + padEnd - dilation * (kernel - 1) - 1) / stride) + 1;
}

export function convTransposeOutSize(
  input: number,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation: number,
  outputPadding: number,
): number {
  return stride * (input - 1) + outputPadding + (kernel - 1) * dilation + 1 - padBegin - padEnd;
}

function conv2d(x: NDArray, w: NDArray, b: NDArray | undefined, g: ConvGeometry): NDArray {
  const [n, c, h, wd] = x.shape;
  const [m, cg, kh, kw] = w.shape;
  const oh = convOutSize(h, kh, g.strides[0], g.pads[0], g.pads[2], g.dilations[0]);
  const ow = convOutSize(wd, kw, g.strides[1], g.pads[1], g.pads[3], g.dilations[1]);
  const mg = m / g.group;
  const out = ndarray(x.dtype, [n, m, oh, ow]);
  for (let bi = 0; bi < n; bi++) {
    for (let oc = 0; oc < m; oc++) {
      const grp = Math.floor(oc / mg);
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          let s = b ? b.data[oc] : 0;
          for (let ic = 0; ic < cg; ic++) {
            const xc = grp * cg + ic;
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * g.strides[0] - g.pads[0] + ky * g.dilations[0];
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * g.strides[1] - g.pads[1] + kx * g.dilations[1];
                if (ix < 0 || ix >= wd) continue;
                s +=
                  x.data[((bi * c + xc) * h + iy) * wd + ix] * w.data[((oc * cg + ic) * kh + ky) * kw + kx];
              }
            }
          }
          out.data[((bi * m + oc) * oh + oy) * ow + ox] = s;
        }
      }
    }
  }
  return out;
}

function convTranspose2d(
  x: NDArray,
  w: NDArray,
  b: NDArray | undefined,
  g: ConvGeometry,
  outPad: number[],
): NDArray {
  const [n, c, h, wd] = x.shape;
  const [, mg, kh, kw] = w.shape;
  const m = mg * g.group;
  const cg = c / g.group;
  const oh = convTransposeOutSize(h, kh, g.strides[0], g.pads[0], g.pads[2], g.dilations[0], outPad[0]);
  const ow = convTransposeOutSize(wd, kw, g.strides[1], g.pads[1], g.pads[3], g.dilations[1], outPad[1]);
  const out = ndarray(x.dtype, [n, m, oh, ow]);
  for (let bi = 0; bi < n; bi++) {
    for (let ic = 0; ic < c; ic++) {
      const grp = Math.floor(ic / cg);
      for (let iy = 0; iy < h; iy++) {
        for (let ix = 0; ix < wd; ix++) {
          const v = x.data[((bi * c + ic) * h + iy) * wd + ix];
          for (let j = 0; j < mg; j++) {
            const oc = grp * mg + j;
            for (let ky = 0; ky < kh; ky++) {
              const oy = iy * g.strides[0] - g.pads[0] + ky * g.dilations[0];
              if (oy < 0 || oy >= oh) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ox = ix * g.strides[1] - g.pads[1] + kx * g.dilations[1];
                if (ox < 0 || ox >= ow) continue;
                out.data[((bi * m + oc) * oh + oy) * ow + ox] +=
                  v * w.data[((ic * mg + j) * kh + ky) * kw + kx];
              }
            }
          }
        }
      }
    }
  }
  if (b) {
    for (let bi = 0; bi < n; bi++)
      for (let oc = 0; oc < m; oc++)
        for (let i = 0; i < oh * ow; i++) out.data[(bi * m + oc) * oh * ow + i] += b.data[oc];
  }
  return out;
}

export const convOps: Record<string, OpSpec> = {
  Conv: {
    infer: ([x, w, b], attrs, fail) => {
      if (x.rank !== 4 || w.rank !== 4) fail("expects NCHW input and MCkk weight");
      const g = convGeometry(attrs);
      const [, c, h, wd] = x.shape;
      const [m, cg, kh, kw] = w.shape;
      if (c !== cg * g.group) fail(`input has ${c} channels, weight expects ${cg}×${g.group} groups`);
      if (m % g.group !== 0) fail(`output channels ${m} not divisible by group ${g.group}`);
      if (b && (b.rank !== 1 || b.shape[0] !== m)) fail(`bias must have shape [${m}]`);
      const oh = convOutSize(h, kh, g.strides[0], g.pads[0], g.pads[2], g.dilations[0]);
      const ow = convOutSize(wd, kw, g.strides[1], g.pads[1], g.pads[3], g.dilations[1]);
      if (oh < 1 || ow < 1) fail(`output would be empty (${oh}×${ow})`);
      return [{ dtype: x.dtype, shape: [x.shape[0], m, oh, ow] }];
    },
    evaluate: ([x, w, b], attrs) => [conv2d(x, w, b, convGeometry(attrs))],
  },
  ConvTranspose: {
    infer: ([x, w, b], attrs, fail) => {
      if (x.rank !== 4 || w.rank !== 4) fail("expects NCHW input and CMkk weight");
      const g = convGeometry(attrs);
      const outPad = intsAttr(attrs, "output_padding", [0, 0]);
      const [, c, h, wd] = x.shape;
      const [cw, mg, kh, kw] = w.shape;
      if (c !== cw) fail(`input has ${c} channels, weight expects ${cw}`);
      if (c % g.group !== 0) fail(`input channels ${c} not divisible by group ${g.group}`);
      if (outPad.some((p, i) => p < 0 || p >= g.strides[i]))
        fail(`output_padding [${outPad}] must be smaller than the stride [${g.strides}]`);
      const m = mg * g.group;
      if (b && (b.rank !== 1 || b.shape[0] !== m)) fail(`bias must have shape [${m}]`);
      const oh = convTransposeOutSize(h, kh, g.strides[0], g.pads[0], g.pads[2], g.dilations[0], outPad[0]);
      const ow = convTransposeOutSize(wd, kw, g.strides[1], g.pads[1], g.pads[3], g.dilations[1], outPad[1]);
      if (oh < 1 || ow < 1) fail(`output would be empty (${oh}×${ow})`);
      return [{ dtype: x.dtype, shape: [x.shape[0], m, oh, ow] }];
    },
    evaluate: ([x, w, b], attrs) => [
      convTranspose2d(x, w, b, convGeometry(attrs), intsAttr(attrs, "output_padding", [0, 0])),
    ],
  },
  MaxPool: {
    infer: ([x], attrs, fail) => {
      if (x.rank !== 4) fail("expects NCHW input");
      const [kh, kw] = intsAttr(attrs, "kernel_shape");
      const g = convGeometry(attrs);
      if (g.pads.some((p, i) => p >= (i % 2 === 0 ? kh : kw)))
        fail(`pads [${g.pads.join(", ")}] must be smaller than the kernel [${kh}, ${kw}]`);
      const oh = convOutSize(x.shape[2], kh, g.strides[0], g.pads[0], g.pads[2], g.dilations[0]);
      const ow = convOutSize(x.shape[3], kw, g.strides[1], g.pads[1], g.pads[3], g.dilations[1]);
      if (oh < 1 || ow < 1) fail("output would be empty");
      const shape = [x.shape[0], x.shape[1], oh, ow];
      return [
        { dtype: x.dtype, shape },
        { dtype: "int64", shape: [...shape] },
      ];
    },
    evaluate: ([x], attrs) => {
      const [kh, kw] = intsAttr(attrs, "kernel_shape");
      const g = convGeometry(attrs);
      const [n, c, h, wd] = x.shape;
      const oh = convOutSize(h, kh, g.strides[0], g.pads[0], g.pads[2], g.dilations[0]);
      const ow = convOutSize(wd, kw, g.strides[1], g.pads[1], g.pads[3], g.dilations[1]);
      const values = ndarray(x.dtype, [n, c, oh, ow]);
      const indices = ndarray("int64", [n, c, oh, ow]);
      for (let p = 0; p < n * c; p++) {
        for (let oy = 0; oy < oh; oy++) {
          for (let ox = 0; ox < ow; ox++) {
            let best = Number.NEGATIVE_INFINITY;
            let arg = -1;
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * g.strides[0] - g.pads[0] + ky * g.dilations[0];
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * g.strides[1] - g.pads[1] + kx * g.dilations[1];
                if (ix < 0 || ix >= wd) continue;
                const offset = (p * h + iy) * wd + ix;
                if (x.data[offset] > best) {
                  best = x.data[offset];
                  arg = offset;
                }
              }
            }
            values.data[(p * oh + oy) * ow + ox] = best;
            indices.data[(p * oh + oy) * ow + ox] = arg;
          }
        }
      }
      return [values, indices];
    },
  },
};
