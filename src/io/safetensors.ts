/**
 * Reading and writing the safetensors format (https://github.com/huggingface/safetensors) in memory.
 * Pure: no Node.js imports, so it works in browsers too.
 *
 * Layout: an unsigned 64-bit little-endian header length `N`, then `N` bytes of UTF-8 JSON mapping
 * each tensor name to `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to the data
 * section) plus an optional `"__metadata__"` map of strings, then the raw little-endian data.
 * @module
 */
import { InputError, type FileFormatError } from '../errors';
import { checkOverlaps, LITTLE_ENDIAN_HOST, readEntry, readHeader, readMetadata, readValues, type Entry } from './safetensors-read';
import { setOwn } from './objects';

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

/** Typed array and file dtype of each writable tensor dtype. */
const WRITE_DTYPES = {
  float32: { array: Float32Array, file: 'F32' },
  int32: { array: Int32Array, file: 'I32' },
  int8: { array: Int8Array, file: 'I8' },
} as const;

const utf8 = new TextEncoder();

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
  const { header, dataStart } = readHeader(bytes, file, MAX_SAFETENSORS_HEADER_BYTES);
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
