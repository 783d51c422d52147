/**
 * The reading half of the safetensors codec, for `decodeSafetensors`: the header, its entries and
 * metadata, and each tensor's values (F16, BF16 and F64 converted to float32, I64 to int32). Pure: no
 * Node.js imports.
 * @internal
 * @module
 */
import { isRecord, setOwn } from './objects';
import { FileFormatError } from '../errors';

/** Bytes per element of each readable file dtype; F16, BF16 and F64 become float32, I64 becomes int32. */
const DTYPE_SIZE: Readonly<Record<string, number>> = { F32: 4, I32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I8: 1 };

/** Whether this host stores numbers little-endian, as safetensors does. @internal */
export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });


/**
 * Reads the header length and the JSON header; `maxHeaderBytes` bounds the length.
 * @returns The header object and the offset of the data section.
 * @internal
 */
export function readHeader(bytes: Uint8Array, file: string, maxHeaderBytes: number): { header: Record<string, unknown>; dataStart: number } {
  const fail = (reason: string): never => {
    throw new FileFormatError(file, reason);
  };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes; a safetensors file starts with an 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(maxHeaderBytes)) {
    fail(`header length ${n} exceeds the ${maxHeaderBytes}-byte limit`);
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
  if (!isRecord(header)) throw new FileFormatError(file, 'header must be a JSON object');
  return { header, dataStart: 8 + length };
}

/**
 * Reads the `__metadata__` map (strings only).
 * @internal
 */
export function readMetadata(value: unknown, file: string): Record<string, string> {
  if (!isRecord(value)) throw new FileFormatError(file, '__metadata__ must be an object of strings');
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new FileFormatError(file, `__metadata__[${JSON.stringify(k)}] must be a string, got ${JSON.stringify(v)}`);
    }
    setOwn(metadata, k, v);
  }
  return metadata;
}

/** One tensor entry of the header, checked. @internal */
export interface Entry {
  /** The tensor's name. */
  name: string;
  /** Its file dtype, e.g. `"F32"`. */
  dtype: string;
  /** Its dimensions. */
  shape: number[];
  /** Start of its data, relative to the data section. */
  begin: number;
  /** End of its data (exclusive), relative to the data section. */
  end: number;
}

/**
 * Checks one tensor entry of the header against the data section's length.
 * @internal
 */
export function readEntry(name: string, value: unknown, dataLength: number, file: string): Entry {
  const fail = (reason: string): never => {
    throw new FileFormatError(file, `tensor ${JSON.stringify(name)}: ${reason}`);
  };
  if (!isRecord(value)) return fail('entry must be an object with dtype, shape and data_offsets');
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

/**
 * Throws when two tensors' data overlap (gaps are allowed).
 * @internal
 */
export function checkOverlaps(entries: readonly Entry[], file: string): void {
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

/**
 * Copies one tensor's values out of `bytes` (at `start`) into a fresh typed array, converting the dtype.
 * @internal
 */
export function readValues(bytes: Uint8Array, start: number, e: Entry, file: string): Float32Array | Int32Array | Int8Array {
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
