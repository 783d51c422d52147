/**
 * int8 weights in safetensors. Two layouts, both readable by {@link collapseQuantized}:
 * - `per-channel` (our own): `<name>` I8 `[dIn, dOut]` (the model's Conv1D layout), `<name>.scale` F32
 *   `[dOut]` (step size: `w = q * scale`), and when outlier rows are kept, `<name>.outlier_rows` I32 `[k]`
 *   and `<name>.outlier_weight` F32 `[k, dOut]`.
 * - `vector-wise` (bitsandbytes `Linear8bitLt` names): `<module>.weight` I8 `[dOut, dIn]` and
 *   `<module>.SCB` F32 `[dOut]` (absmax: `w = q * SCB / 127`), plus the same outlier entries.
 * The header's `__metadata__` gets {@link QUANT_METADATA_KEY}. Pure (no tensors, no Node APIs).
 * @module
 */
import { FileFormatError } from '../errors';
import type { NamedTensorData } from '../io/safetensors';
import { dequantizeMatrix, matchesDequantized, type QuantizedMatrix } from './int8';
import { clearQuantized, getQuantized } from './registry';

/** Metadata key naming the int8 scheme of a checkpoint, e.g. `int8-per-channel-sym`. */
export const QUANT_METADATA_KEY = 'tfjs-rlhf.quantization';

const scbName = (name: string): string => `${name.replace(/\.weight$/, '')}.SCB`;

function put(out: Record<string, NamedTensorData>, key: string, value: NamedTensorData): void {
  // defineProperty, not assignment, so that a tensor named "__proto__" is stored, not swallowed.
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

function transpose8(q: Int8Array, rows: number, cols: number): Int8Array {
  const out = new Int8Array(q.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = q[i * cols + j] as number;
  return out;
}

/** Adds the safetensors entries of one quantized matrix named `name` to `out`. */
export function quantizedEntries(name: string, m: QuantizedMatrix, out: Record<string, NamedTensorData>): void {
  const { dIn, dOut } = m;
  if (m.scaleKind === 'step') {
    put(out, name, { dtype: 'int8', shape: [dIn, dOut], data: m.q });
    put(out, `${name}.scale`, { dtype: 'float32', shape: [dOut], data: m.scale });
  } else {
    put(out, name, { dtype: 'int8', shape: [dOut, dIn], data: transpose8(m.q, dIn, dOut) });
    put(out, scbName(name), { dtype: 'float32', shape: [dOut], data: m.scale });
  }
  if (m.outlierRows.length > 0) {
    put(out, `${name}.outlier_rows`, { dtype: 'int32', shape: [m.outlierRows.length], data: m.outlierRows });
    put(out, `${name}.outlier_weight`, { dtype: 'float32', shape: [m.outlierRows.length, dOut], data: m.outlierWeight });
  }
}

/**
 * Replaces, in `tensors` (float32 entries by name), every weight whose tensor in `params` has an int8
 * form that it still equals by that form's entries. Weights trained since quantization stay float32 (and
 * forget their int8 form). Returns the metadata to add (empty when nothing is int8).
 */
export function storeQuantized(params: Map<string, object>, tensors: Record<string, NamedTensorData>): Record<string, string> {
  const schemes = new Set<string>();
  for (const [name, t] of params) {
    const m = getQuantized(t);
    const entry = tensors[name];
    if (m === undefined || entry === undefined) continue;
    if (!matchesDequantized(m, entry.data)) {
      clearQuantized(t);
      continue;
    }
    delete tensors[name];
    quantizedEntries(name, m, tensors);
    schemes.add(m.scaleKind === 'step' ? 'int8-per-channel-sym' : 'int8-vector-wise-sym');
  }
  return schemes.size === 0 ? {} : { [QUANT_METADATA_KEY]: [...schemes].sort().join(',') };
}

function take(tensors: Record<string, NamedTensorData>, key: string): NamedTensorData | undefined {
  const t = Object.hasOwn(tensors, key) ? tensors[key] : undefined;
  if (t !== undefined) delete tensors[key];
  return t;
}

function floatEntry(file: string, key: string, t: NamedTensorData | undefined, shape: number[]): Float32Array {
  if (t === undefined) throw new FileFormatError(file, `int8 tensor needs ${JSON.stringify(key)}, which is missing`);
  if (t.dtype !== 'float32' || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new FileFormatError(file, `tensor ${JSON.stringify(key)} must be F32 [${shape}], got ${t.dtype} [${t.shape}]`);
  }
  return t.data as Float32Array;
}

function readOutliers(tensors: Record<string, NamedTensorData>, name: string, dIn: number, dOut: number, file: string): [Int32Array, Float32Array] {
  const rows = take(tensors, `${name}.outlier_rows`);
  const weight = take(tensors, `${name}.outlier_weight`);
  if (rows === undefined && weight === undefined) return [new Int32Array(0), new Float32Array(0)];
  const key = `${name}.outlier_rows`;
  if (rows === undefined || rows.dtype !== 'int32' || rows.shape.length !== 1) throw new FileFormatError(file, `${JSON.stringify(key)} must be I32 [k]`);
  const r = rows.data as Int32Array;
  r.forEach((v, i) => {
    if (!(v >= 0 && v < dIn) || (i > 0 && v <= (r[i - 1] as number))) {
      throw new FileFormatError(file, `${JSON.stringify(key)}[${i}] = ${v}: rows must be ascending in [0, ${dIn})`);
    }
  });
  return [r, floatEntry(file, `${name}.outlier_weight`, weight, [r.length, dOut])];
}

function readOne(tensors: Record<string, NamedTensorData>, name: string, t: NamedTensorData, file: string): QuantizedMatrix {
  if (t.shape.length !== 2) throw new FileFormatError(file, `int8 tensor ${JSON.stringify(name)} must be 2-D, got [${t.shape}]`);
  const [a, b] = t.shape as [number, number];
  const step = take(tensors, `${name}.scale`);
  const absmax = step === undefined ? take(tensors, scbName(name)) : undefined;
  if (step === undefined && absmax === undefined) {
    throw new FileFormatError(file, `int8 tensor ${JSON.stringify(name)} has no ${JSON.stringify(`${name}.scale`)} (or ${JSON.stringify(scbName(name))})`);
  }
  const [dIn, dOut] = step !== undefined ? [a, b] : [b, a];
  const scale = step !== undefined ? floatEntry(file, `${name}.scale`, step, [dOut]) : floatEntry(file, scbName(name), absmax, [dOut]);
  const q = step !== undefined ? (t.data as Int8Array) : transpose8(t.data as Int8Array, dOut, dIn);
  const [outlierRows, outlierWeight] = readOutliers(tensors, name, dIn, dOut, file);
  return { dIn, dOut, q, scale, scaleKind: step !== undefined ? 'step' : 'absmax', outlierRows, outlierWeight };
}

/**
 * Collapses every int8 weight of decoded safetensors (and its scale / outlier entries) into one float32
 * entry of the dequantized values, in place; returns the int8 forms by name.
 * @throws {@link FileFormatError} naming the file and tensor when a scale is missing or mis-shaped.
 */
export function collapseQuantized(tensors: Record<string, NamedTensorData>, file: string): Map<string, QuantizedMatrix> {
  const found = new Map<string, QuantizedMatrix>();
  for (const name of Object.keys(tensors)) {
    const t = tensors[name];
    if (t === undefined || t.dtype !== 'int8') continue;
    const m = readOne(tensors, name, t, file);
    put(tensors, name, { dtype: 'float32', shape: [m.dIn, m.dOut], data: dequantizeMatrix(m) });
    found.set(name, m);
  }
  return found;
}
