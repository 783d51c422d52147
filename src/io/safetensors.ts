/**
 * Reading and writing the safetensors format (https://github.com/huggingface/safetensors) in memory.
 * Pure: no Node.js imports, so it works in browsers too.
 *
 * Layout: an unsigned 64-bit little-endian header length `N`, then `N` bytes of UTF-8 JSON mapping
 * each tensor name to `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to the data
 * section) plus an optional `"__metadata__"` map of strings, then the raw little-endian data.
 * @module
 */
import { FileFormatError, InputError } from '../errors';

/** One tensor's values, row-major, with its dtype and shape. */
export interface NamedTensorData {
  /** Element type; must match the typed array in `data` (`int8` is stored as safetensors `I8`). */
  dtype: 'float32' | 'int32' | 'int8';
  /** Dimensions; `[]` for a scalar. `data.length` equals their product. */
  shape: number[];
  /**
   * The values in row-major order: a `Float32Array` for `float32`, an `Int32Array` for `int32`, an
   * `Int8Array` for `int8`.
   */
  data: Float32Array | Int32Array | Int8Array;
}

/** What {@link decodeSafetensors} returns. */
export interface SafetensorsContents {
  /** The tensors by name, each in a freshly allocated typed array. */
  tensors: Record<string, NamedTensorData>;
  /** The `__metadata__` map; `{}` when the file has none. */
  metadata: Record<string, string>;
}

/** Largest header {@link decodeSafetensors} accepts, in bytes (100 MB, as the reference implementation). */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

/** Bytes per element of each readable file dtype; F16, BF16 and F64 become float32, I64 becomes int32. */
const DTYPE_SIZE: Readonly<Record<string, number>> = { F32: 4, I32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I8: 1 };

/** Typed array and file dtype of each writable tensor dtype. */
const WRITE_DTYPES = {
  float32: { array: Float32Array, file: 'F32' },
  int32: { array: Int32Array, file: 'I32' },
  int8: { array: Int8Array, file: 'I8' },
} as const;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  // defineProperty, not assignment, so that a tensor named "__proto__" is stored, not swallowed.
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function sortedKeys(obj: object): string[] {
  return Object.keys(obj).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function checkTensor(name: string, t: NamedTensorData | undefined): NamedTensorData {
  const where = `tensors[${JSON.stringify(name)}]`;
  if (name === '__metadata__') throw new InputError('tensors', name, 'a tensor may not be named "__metadata__"');
  if (typeof t !== 'object' || t === null) throw new InputError(where, t, 'must be { dtype, shape, data }');
  const { dtype, shape, data } = t;
  const expected = Object.hasOwn(WRITE_DTYPES, dtype) ? WRITE_DTYPES[dtype].array : undefined;
  if (expected === undefined) throw new InputError(`${where}.dtype`, dtype, 'must be "float32", "int32" or "int8"');
  if (!(data instanceof expected)) {
    throw new InputError(`${where}.data`, Object.prototype.toString.call(data), `must be a ${expected.name}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new InputError(`${where}.shape`, shape, 'must be an array of non-negative integers');
  }
  const numel = shape.reduce((a, d) => a * d, 1);
  if (data.length !== numel) {
    throw new InputError(`${where}.data.length`, data.length, `must equal the product of shape [${shape}] = ${numel}`);
  }
  return t;
}

function metadataJson(metadata: Record<string, string>): string {
  const parts = sortedKeys(metadata).map((k) => {
    const v = metadata[k];
    if (typeof v !== 'string') throw new InputError(`metadata[${JSON.stringify(k)}]`, v, 'must be a string');
    return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
  });
  return `{${parts.join(',')}}`;
}

function writeLittleEndian(out: Uint8Array, pos: number, data: Float32Array | Int32Array | Int8Array): void {
  if (LITTLE_ENDIAN_HOST || data instanceof Int8Array) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) view.setFloat32(pos + 4 * i, data[i] ?? 0, true);
    else view.setInt32(pos + 4 * i, data[i] ?? 0, true);
  }
}

/**
 * Serializes tensors to safetensors bytes. The output is deterministic: tensors are laid out in
 * sorted name order (UTF-16 code-unit order), `__metadata__` (keys sorted) comes first in the header,
 * and the header is padded with spaces so that the data section starts at a multiple of 8 bytes.
 * `float32` is written as `F32`, `int32` as `I32`, `int8` as `I8`.
 * @param tensors - Tensors by name. No name may be `"__metadata__"`.
 * @param metadata - Optional string-to-string map stored as `__metadata__`; omitted when undefined.
 * @returns The file's bytes.
 * @throws An {@link InputError} naming the tensor when its dtype, data type, shape or length is inconsistent,
 *   or naming the metadata key whose value is not a string.
 */
export function encodeSafetensors(
  tensors: Record<string, NamedTensorData>,
  metadata?: Record<string, string>,
): Uint8Array {
  const entries: string[] = [];
  if (metadata !== undefined) entries.push(`"__metadata__":${metadataJson(metadata)}`);
  const parts: NamedTensorData[] = [];
  let offset = 0;
  for (const name of sortedKeys(tensors)) {
    const t = checkTensor(name, tensors[name]);
    const end = offset + t.data.byteLength;
    const info = `"dtype":"${WRITE_DTYPES[t.dtype].file}","shape":[${t.shape.join(',')}]`;
    entries.push(`${JSON.stringify(name)}:{${info},"data_offsets":[${offset},${end}]}`);
    parts.push(t);
    offset = end;
  }
  const json = utf8.encode(`{${entries.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerLength / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let pos = 8 + headerLength;
  for (const t of parts) {
    writeLittleEndian(out, pos, t.data);
    pos += t.data.byteLength;
  }
  return out;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function readHeader(bytes: Uint8Array, file: string): { header: Record<string, unknown>; dataStart: number } {
  const fail = (reason: string): never => {
    throw new FileFormatError(file, reason);
  };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes; a safetensors file starts with an 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_SAFETENSORS_HEADER_BYTES)) {
    fail(`header length ${n} exceeds the ${MAX_SAFETENSORS_HEADER_BYTES}-byte limit`);
  }
  const length = Number(n);
  const available = bytes.length - 8;
  if (length > available) fail(`header length ${length} exceeds the ${available} bytes present (truncated file?)`);
  let text: string;
  try {
    text = strictUtf8.decode(bytes.subarray(8, 8 + length));
  } catch {
    throw new FileFormatError(file, 'header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new FileFormatError(file, `header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(header)) throw new FileFormatError(file, 'header must be a JSON object');
  return { header, dataStart: 8 + length };
}

function readMetadata(value: unknown, file: string): Record<string, string> {
  if (!isPlainObject(value)) throw new FileFormatError(file, '__metadata__ must be an object of strings');
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new FileFormatError(file, `__metadata__[${JSON.stringify(k)}] must be a string, got ${JSON.stringify(v)}`);
    }
    setOwn(metadata, k, v);
  }
  return metadata;
}

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

function readEntry(name: string, value: unknown, dataLength: number, file: string): Entry {
  const fail = (reason: string): never => {
    throw new FileFormatError(file, `tensor ${JSON.stringify(name)}: ${reason}`);
  };
  if (!isPlainObject(value)) return fail('entry must be an object with dtype, shape and data_offsets');
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') return fail(`dtype must be a string, got ${JSON.stringify(dtype)}`);
  const size = Object.hasOwn(DTYPE_SIZE, dtype) ? DTYPE_SIZE[dtype] : undefined;
  if (size === undefined) {
    return fail(`unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_SIZE).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    return fail(`shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const nbytes = (shape as number[]).reduce((a, d) => a * d, size);
  if (!Number.isSafeInteger(nbytes)) return fail(`shape ${JSON.stringify(shape)} is too large`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    return fail(`data_offsets must be two non-negative integers, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) return fail(`data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) {
    return fail(`data_offsets end ${end} is beyond the ${dataLength}-byte data section (truncated file?)`);
  }
  if (end - begin !== nbytes) {
    return fail(`data_offsets [${begin}, ${end}] span ${end - begin} bytes; ${dtype} [${shape}] needs ${nbytes}`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

function checkOverlaps(entries: readonly Entry[], file: string): void {
  const nonEmpty = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < nonEmpty.length; i++) {
    const prev = nonEmpty[i - 1] as Entry;
    const cur = nonEmpty[i] as Entry;
    if (cur.begin < prev.end) {
      const range = (e: Entry): string => `${JSON.stringify(e.name)} [${e.begin}, ${e.end})`;
      throw new FileFormatError(file, `tensors ${range(prev)} and ${range(cur)} overlap`);
    }
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

const bf16Scratch = new Uint32Array(1);
const bf16AsFloat = new Float32Array(bf16Scratch.buffer);

function readValues(bytes: Uint8Array, start: number, e: Entry, file: string): Float32Array | Int32Array | Int8Array {
  const size = DTYPE_SIZE[e.dtype] ?? 1;
  const n = (e.end - e.begin) / size;
  if (e.dtype === 'I8') return new Int8Array(bytes.buffer, bytes.byteOffset + start, n).slice();
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, e.end - e.begin);
  if ((e.dtype === 'F32' || e.dtype === 'I32') && LITTLE_ENDIAN_HOST) {
    const out = e.dtype === 'F32' ? new Float32Array(n) : new Int32Array(n);
    new Uint8Array(out.buffer).set(bytes.subarray(start, start + n * size));
    return out;
  }
  if (e.dtype === 'I32') return Int32Array.from({ length: n }, (_, i) => view.getInt32(4 * i, true));
  if (e.dtype === 'I64') {
    return Int32Array.from({ length: n }, (_, i) => {
      const v = view.getBigInt64(8 * i, true);
      if (v < -(2n ** 31n) || v >= 2n ** 31n) {
        const where = `tensor ${JSON.stringify(e.name)}`;
        throw new FileFormatError(file, `${where}: I64 element ${i} = ${v} does not fit in int32`);
      }
      return Number(v);
    });
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (e.dtype === 'F32') out[i] = view.getFloat32(4 * i, true);
    else if (e.dtype === 'F64') out[i] = view.getFloat64(8 * i, true);
    else if (e.dtype === 'F16') out[i] = halfToFloat(view.getUint16(2 * i, true));
    else {
      bf16Scratch[0] = view.getUint16(2 * i, true) << 16;
      out[i] = bf16AsFloat[0] ?? NaN;
    }
  }
  return out;
}

/**
 * Parses and validates safetensors bytes. Every tensor is copied into a fresh, aligned typed array
 * (never a view of `bytes`). F32, I32 and I8 are read as is; F16, BF16 and F64 are converted to float32
 * (F64 rounds to nearest); I64 is converted to int32 when every value fits. Other dtypes are rejected.
 * Gaps between tensors' data and unknown fields in an entry are tolerated; overlaps are not.
 * @param bytes - The whole file.
 * @param file - Name used in error messages. Default: `"<bytes>"`.
 * @returns The tensors and the metadata.
 * @throws An {@link FileFormatError} naming the file, the tensor and the problem: the file is shorter than
 *   8 bytes; the header length exceeds the bytes present or {@link MAX_SAFETENSORS_HEADER_BYTES}; the header
 *   is not UTF-8 JSON or not an object; an entry's dtype is unsupported, its shape is not an array of
 *   non-negative integers, its data_offsets are not `[begin, end]` with `begin <= end <=` data length and
 *   `end - begin` = elements × dtype size; two tensors' data overlap; a metadata value is not a string.
 */
export function decodeSafetensors(bytes: Uint8Array, file = '<bytes>'): SafetensorsContents {
  if (!(bytes instanceof Uint8Array)) throw new InputError('bytes', bytes, 'must be a Uint8Array');
  const { header, dataStart } = readHeader(bytes, file);
  const dataLength = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [key, value] of Object.entries(header)) {
    if (key === '__metadata__') metadata = readMetadata(value, file);
    else entries.push(readEntry(key, value, dataLength, file));
  }
  checkOverlaps(entries, file);
  const tensors: Record<string, NamedTensorData> = {};
  for (const e of entries) {
    const data = readValues(bytes, dataStart + e.begin, e, file);
    const dtype = data instanceof Int32Array ? 'int32' : data instanceof Int8Array ? 'int8' : 'float32';
    setOwn(tensors, e.name, { dtype, shape: e.shape, data } as NamedTensorData);
  }
  return { tensors, metadata };
}
