/**
 * Symmetric int8 quantization of one weight matrix in the Conv1D layout `W [dIn, dOut]`, one scale per
 * output channel (column): `q = clamp(round(W / s), -127, 127)`, `Ŵ = q · s` (-128 unused, as in
 * bitsandbytes). Optional outlier input rows (LLM.int8()-style, chosen from activations) stay in float32
 * and are zero in the int8 part. Pure math on typed arrays; no tensors.
 * @module
 */

/** How a stored scale is read: a step size (`Ŵ = q·s`) or an absmax (`Ŵ = q·s/127`, bitsandbytes' SCB). */
export type ScaleKind = 'step' | 'absmax';

/** One matrix stored as int8 + float32 scales (Conv1D layout `[dIn, dOut]`). */
export interface QuantizedMatrix {
  /** Input dimension (rows of the stored layout). */
  dIn: number;
  /** Output dimension (columns). */
  dOut: number;
  /** int8 values, row-major `[dIn, dOut]`; outlier rows are 0. */
  q: Int8Array;
  /** One scale per output channel, `[dOut]`. */
  scale: Float32Array;
  /** Meaning of {@link QuantizedMatrix.scale}. */
  scaleKind: ScaleKind;
  /** Indices of the input rows kept in float32, ascending. */
  outlierRows: Int32Array;
  /** Those rows' float32 values, `[outlierRows.length, dOut]`. */
  outlierWeight: Float32Array;
}

/**
 * Quantizes `w` (row-major `[dIn, dOut]`). An all-zero column gets scale 1 (step) / 0 (absmax).
 * @param outlierRows - input rows to keep in float32 (ascending, distinct, in range).
 */
export function quantizeMatrix(
  w: Float32Array, dIn: number, dOut: number, scaleKind: ScaleKind = 'step', outlierRows: Int32Array = new Int32Array(0),
): QuantizedMatrix {
  const isOutlier = new Uint8Array(dIn);
  for (const r of outlierRows) isOutlier[r] = 1;
  const absmax = new Float64Array(dOut);
  for (let i = 0; i < dIn; i++) {
    if (isOutlier[i]) continue;
    for (let o = 0; o < dOut; o++) absmax[o] = Math.max(absmax[o] as number, Math.abs(w[i * dOut + o] as number));
  }
  const scale = new Float32Array(dOut);
  const step = new Float64Array(dOut); // the exact step the dequantizer will use
  for (let o = 0; o < dOut; o++) {
    const m = absmax[o] as number;
    if (scaleKind === 'step') scale[o] = m > 0 ? Math.max(Math.fround(m / 127), 2 ** -149) : 1; // no underflow to 0
    else scale[o] = m;
    step[o] = scaleKind === 'step' ? (scale[o] as number) : (scale[o] as number) / 127;
  }
  const q = new Int8Array(dIn * dOut);
  const outlierWeight = new Float32Array(outlierRows.length * dOut);
  let k = 0;
  for (let i = 0; i < dIn; i++) {
    if (isOutlier[i]) {
      outlierWeight.set(w.subarray(i * dOut, (i + 1) * dOut), k++ * dOut);
      continue;
    }
    for (let o = 0; o < dOut; o++) {
      const s = step[o] as number;
      const v = s > 0 ? Math.round((w[i * dOut + o] as number) / s) : 0;
      q[i * dOut + o] = Math.max(-127, Math.min(127, v));
    }
  }
  return { dIn, dOut, q, scale, scaleKind, outlierRows: Int32Array.from(outlierRows), outlierWeight };
}

/** The float32 matrix `[dIn, dOut]` a {@link QuantizedMatrix} stands for (bit-for-bit deterministic). */
export function dequantizeMatrix(m: QuantizedMatrix): Float32Array {
  const { dIn, dOut, q, scale } = m;
  const out = new Float32Array(dIn * dOut);
  const step = new Float64Array(dOut);
  for (let o = 0; o < dOut; o++) step[o] = m.scaleKind === 'step' ? (scale[o] as number) : (scale[o] as number) / 127;
  for (let i = 0; i < dIn; i++) {
    for (let o = 0; o < dOut; o++) out[i * dOut + o] = (q[i * dOut + o] as number) * (step[o] as number);
  }
  m.outlierRows.forEach((r, k) => out.set(m.outlierWeight.subarray(k * dOut, (k + 1) * dOut), r * dOut));
  return out;
}

/** Whether `w` is exactly what `m` dequantizes to (false once the weights were trained further). */
export function matchesDequantized(m: QuantizedMatrix, w: ArrayLike<number>): boolean {
  const d = dequantizeMatrix(m);
  if (d.length !== w.length) return false;
  for (let i = 0; i < d.length; i++) if (d[i] !== w[i]) return false;
  return true;
}
