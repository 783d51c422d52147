/**
 * The data-movement kernels' math on plain typed arrays (row-major): transposes, the attention head
 * layouts, the KV cache's concatenation and the embedding gather. Pure permutations and copies, so
 * the fused kernels equal the tf-op compositions exactly. Each function writes into the output arrays
 * it is given.
 * @internal
 * @module
 */

/**
 * `out[c, r] = x[r, c]` for `x: [rows, cols]`: column strips of 64, eight rows at a time (eight
 * contiguous writes per column; 2-4x faster in V8 than a tiled element-by-element loop).
 */
export function transpose2d(x: Float32Array, rows: number, cols: number, out: Float32Array): void {
  const c2 = 2 * cols;
  const c3 = 3 * cols;
  const c4 = 4 * cols;
  for (let c0 = 0; c0 < cols; c0 += 64) {
    const c1 = Math.min(c0 + 64, cols);
    let r = 0;
    for (; r + 8 <= rows; r += 8) {
      const base = r * cols;
      for (let c = c0; c < c1; c++) {
        const o = c * rows + r;
        const i = base + c;
        const j = i + c4;
        out[o] = x[i] as number;
        out[o + 1] = x[i + cols] as number;
        out[o + 2] = x[i + c2] as number;
        out[o + 3] = x[i + c3] as number;
        out[o + 4] = x[j] as number;
        out[o + 5] = x[j + cols] as number;
        out[o + 6] = x[j + c2] as number;
        out[o + 7] = x[j + c3] as number;
      }
    }
    for (; r < rows; r++) {
      const base = r * cols;
      for (let c = c0; c < c1; c++) out[c * rows + r] = x[base + c] as number;
    }
  }
}

/** Rows `table[ids[i]]` of `table: [n, d]` into `out: [ids.length, d]`; an id outside `[0, n)` gives zeros. */
export function gatherRows(table: Float32Array, ids: Int32Array, d: number, out: Float32Array): void {
  const n = table.length / d;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    if (id >= 0 && id < n) out.set(table.subarray(id * d, id * d + d), i * d);
    else out.fill(0, i * d, i * d + d);
  }
}

/** Sizes of an attention layer's head layout: batch, time, heads, head width. */
export interface HeadDims { B: number; T: number; H: number; hd: number }

/**
 * `qkv: [B*T, 3d]` (columns q | k | v, each `[H, hd]`) into `q: [B*H, T, hd]` times `scale`, keys
 * transposed `kT: [B*H, hd, T]` and `v: [B*H, T, hd]`. With `inverse`, the other way (the backward:
 * `qkv` receives `scale * dq | dkT | dv`).
 */
export function splitHeads(
  qkv: Float32Array, { B, T, H, hd }: HeadDims, scale: number,
  q: Float32Array, kT: Float32Array, v: Float32Array, inverse = false,
): void {
  const d = H * hd;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * 3 * d;
      for (let h = 0; h < H; h++) {
        const bh = b * H + h;
        const src = row + h * hd;
        const qo = (bh * T + t) * hd;
        const ko = bh * hd * T + t;
        for (let e = 0; e < hd; e++) {
          if (inverse) {
            qkv[src + e] = (q[qo + e] as number) * scale;
            qkv[src + d + e] = kT[ko + e * T] as number;
            qkv[src + 2 * d + e] = v[qo + e] as number;
          } else {
            q[qo + e] = (qkv[src + e] as number) * scale;
            kT[ko + e * T] = qkv[src + d + e] as number;
            v[qo + e] = qkv[src + 2 * d + e] as number;
          }
        }
      }
    }
  }
}

/** `y: [B*H, T, hd]` into `out: [B*T, H*hd]` (heads side by side); with `inverse`, the other way. */
export function mergeHeads(y: Float32Array, { B, T, H, hd }: HeadDims, out: Float32Array, inverse = false): void {
  const d = H * hd;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const src = ((b * H + h) * T + t) * hd;
        const dst = (b * T + t) * d + h * hd;
        if (inverse) for (let e = 0; e < hd; e++) y[src + e] = out[dst + e] as number;
        else for (let e = 0; e < hd; e++) out[dst + e] = y[src + e] as number;
      }
    }
  }
}

/**
 * Concatenation of `a: [G, Ra, Ca]` and `b: [G, Rb, Cb]` along axis 1 (`Ca = Cb`) or 2 (`Ra = Rb`)
 * into `out` (the KV cache's growth by one position while decoding).
 */
export function concat3d(a: Float32Array, aShape: readonly number[], b: Float32Array, bShape: readonly number[], axis: 1 | 2, out: Float32Array): void {
  const [G, Ra, Ca] = aShape as [number, number, number];
  const [, Rb, Cb] = bShape as [number, number, number];
  if (axis === 1) {
    const as = Ra * Ca;
    const bs = Rb * Cb;
    for (let g = 0; g < G; g++) {
      out.set(a.subarray(g * as, g * as + as), g * (as + bs));
      out.set(b.subarray(g * bs, g * bs + bs), g * (as + bs) + as);
    }
    return;
  }
  const C = Ca + Cb;
  for (let r = 0; r < G * Ra; r++) {
    const ao = r * Ca;
    const bo = r * Cb;
    const o = r * C;
    for (let j = 0; j < Ca; j++) out[o + j] = a[ao + j] as number;
    for (let j = 0; j < Cb; j++) out[o + Ca + j] = b[bo + j] as number;
  }
}

/**
 * Writes `x: [G, R, C]` into `buf: [G, Rb, Cb]` starting at row (`axis` 1) or column (`axis` 2) `at`:
 * the KV cache growing in place inside a buffer with room for the whole generation.
 */
export function writeAt(buf: Float32Array, bufShape: readonly number[], x: Float32Array, xShape: readonly number[], axis: 1 | 2, at: number): void {
  const [G, Rb, Cb] = bufShape as [number, number, number];
  const [, R, C] = xShape as [number, number, number];
  for (let g = 0; g < G; g++) {
    if (axis === 1) {
      buf.set(x.subarray(g * R * C, (g + 1) * R * C), (g * Rb + at) * Cb);
      continue;
    }
    for (let r = 0; r < R; r++) {
      const o = (g * Rb + r) * Cb + at;
      const xo = (g * R + r) * C;
      for (let j = 0; j < C; j++) buf[o + j] = x[xo + j] as number;
    }
  }
}
