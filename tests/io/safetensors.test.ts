import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeSafetensors,
  encodeSafetensors,
  MAX_SAFETENSORS_HEADER_BYTES,
  type NamedTensorData,
} from '../../src/io/safetensors';
import { FileFormatError, InputError } from '../../src/errors';

/** Builds a file from a raw header string and data bytes (header not padded). */
function makeFile(header: string | Uint8Array, data: number[] = [], lengthOverride?: bigint): Uint8Array {
  const h = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function bytesOf(a: Float32Array | Int32Array | Int8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function expectFormatError(bytes: Uint8Array, ...fragments: string[]): FileFormatError {
  let err: unknown;
  try {
    decodeSafetensors(bytes, 'test.safetensors');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(FileFormatError);
  const fe = err as FileFormatError;
  expect(fe.file).toBe('test.safetensors');
  for (const f of fragments) expect(fe.message).toContain(f);
  return fe;
}

const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 });
const tensorArb: fc.Arbitrary<NamedTensorData> = fc
  .tuple(shapeArb, fc.constantFrom<'float32' | 'int32'>('float32', 'int32'))
  .chain(([shape, dtype]) => {
    const n = shape.reduce((a, d) => a * d, 1);
    const data =
      dtype === 'float32'
        ? fc.float32Array({ minLength: n, maxLength: n })
        : fc.int32Array({ minLength: n, maxLength: n });
    return data.map((d) => ({ dtype, shape, data: d }) as NamedTensorData);
  });
const nameArb = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => s !== '__metadata__');

function small(): Uint8Array {
  return encodeSafetensors(
    {
      w: { dtype: 'float32', shape: [2, 2], data: Float32Array.from([1, -2, 3.5, 0]) },
      step: { dtype: 'int32', shape: [], data: Int32Array.from([7]) },
    },
    { format: 'pt' },
  );
}

describe('safetensors round trip', () => {
  it('round-trips random tensor sets and metadata exactly and deterministically', () => {
    const arb = fc.tuple(
      fc.dictionary(nameArb, tensorArb, { maxKeys: 6 }),
      fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }), {
        nil: undefined,
      }),
    );
    fc.assert(
      fc.property(arb, ([tensors, metadata]) => {
        const bytes = encodeSafetensors(tensors, metadata);
        const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
        expect((8 + headerLength) % 8).toBe(0);
        const back = decodeSafetensors(bytes);
        expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
        for (const [name, t] of Object.entries(tensors)) {
          const d = back.tensors[name] as NamedTensorData;
          expect(d.dtype).toBe(t.dtype);
          expect(d.shape).toEqual(t.shape);
          expect(d.data.byteOffset).toBe(0);
          expect(d.data.buffer).not.toBe(bytes.buffer);
          expect(bytesOf(d.data)).toEqual(bytesOf(t.data));
        }
        expect(back.metadata).toEqual(metadata ?? {});
        expect(encodeSafetensors(back.tensors, metadata)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('writes the documented layout', () => {
    const bytes = small();
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(header.trimEnd()).toBe(
      '{"__metadata__":{"format":"pt"},"step":{"dtype":"I32","shape":[],"data_offsets":[0,4]},' +
        '"w":{"dtype":"F32","shape":[2,2],"data_offsets":[4,20]}}',
    );
    expect(bytes.length).toBe(8 + n + 20);
    expect(new DataView(bytes.buffer).getInt32(8 + n, true)).toBe(7);
    expect(new DataView(bytes.buffer).getFloat32(8 + n + 8, true)).toBe(-2);
  });

  it('keeps odd names such as "__proto__" and numeric strings', () => {
    const tensors: Record<string, NamedTensorData> = {};
    for (const name of ['__proto__', '10', '2', 'constructor', '']) {
      Object.defineProperty(tensors, name, {
        value: { dtype: 'int32', shape: [1], data: Int32Array.from([name.length]) },
        enumerable: true,
      });
    }
    const back = decodeSafetensors(encodeSafetensors(tensors));
    expect(Object.keys(back.tensors).sort()).toEqual(['', '10', '2', '__proto__', 'constructor']);
    expect(Array.from((back.tensors['__proto__'] as NamedTensorData).data)).toEqual([9]);
  });

  it('reads from an unaligned view', () => {
    const bytes = small();
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    const back = decodeSafetensors(big.subarray(3));
    expect(Array.from((back.tensors['w'] as NamedTensorData).data)).toEqual([1, -2, 3.5, 0]);
    expect(back.metadata).toEqual({ format: 'pt' });
  });

  it('rejects inconsistent tensors on encode', () => {
    const f = (t: unknown, name = 'x'): unknown => () => encodeSafetensors({ [name]: t as NamedTensorData });
    expect(f({ dtype: 'float32', shape: [3], data: new Float32Array(2) })).toThrow(InputError);
    expect(f({ dtype: 'float32', shape: [2], data: new Int32Array(2) })).toThrow(InputError);
    expect(f({ dtype: 'float16', shape: [2], data: new Float32Array(2) })).toThrow(InputError);
    expect(f({ dtype: 'int32', shape: [-1], data: new Int32Array(0) })).toThrow(InputError);
    expect(f({ dtype: 'int32', shape: [1], data: new Int32Array(1) }, '__metadata__')).toThrow(InputError);
    expect(() => encodeSafetensors({}, { a: 1 as unknown as string })).toThrow(InputError);
  });
});

describe('safetensors validation', () => {
  it('rejects every truncation of a valid file', () => {
    const bytes = small();
    for (let len = 0; len < bytes.length; len++) {
      expectFormatError(bytes.slice(0, len));
    }
  });

  it('rejects bad header lengths', () => {
    expectFormatError(new Uint8Array(5), '5 bytes');
    expectFormatError(makeFile('{}', [], BigInt(MAX_SAFETENSORS_HEADER_BYTES) + 1n), 'limit');
    expectFormatError(makeFile('{}', [], 2n ** 63n), 'limit');
    expectFormatError(makeFile('{}', [], 3n), 'exceeds the 2 bytes present');
  });

  it('rejects headers that are not a UTF-8 JSON object', () => {
    expectFormatError(makeFile('{"a": '), 'not valid JSON');
    expectFormatError(makeFile(''), 'not valid JSON');
    expectFormatError(makeFile(Uint8Array.from([0x7b, 0xff, 0x7d])), 'UTF-8');
    expectFormatError(makeFile('[1,2]'), 'JSON object');
    expectFormatError(makeFile('null'), 'JSON object');
  });

  it('rejects bad entries, naming the tensor', () => {
    const data = new Array<number>(16).fill(0);
    const entry = (e: string): Uint8Array => makeFile(`{"w":${e}}`, data);
    expectFormatError(entry('3'), '"w"', 'object');
    expectFormatError(entry('{"dtype":"U16","shape":[1],"data_offsets":[0,2]}'), '"w"', 'unsupported dtype "U16"');
    expectFormatError(entry('{"dtype":4,"shape":[1],"data_offsets":[0,4]}'), '"w"', 'dtype');
    expectFormatError(entry('{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}'), '"w"', 'shape');
    expectFormatError(entry('{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}'), '"w"', 'shape');
    expectFormatError(entry('{"dtype":"F32","shape":"1","data_offsets":[0,4]}'), '"w"', 'shape');
    expectFormatError(entry('{"dtype":"F32","shape":[2],"data_offsets":[0,4]}'), '"w"', 'needs 8');
    expectFormatError(entry('{"dtype":"F32","shape":[1],"data_offsets":[0]}'), '"w"', 'data_offsets');
    expectFormatError(entry('{"dtype":"F32","shape":[1],"data_offsets":[8,4]}'), '"w"', 'end before');
    expectFormatError(entry('{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}'), '"w"', 'data_offsets');
    expectFormatError(entry('{"dtype":"F32","shape":[5],"data_offsets":[0,20]}'), '"w"', 'beyond the 16-byte');
  });

  it('rejects overlapping tensors', () => {
    const header =
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[2],"data_offsets":[4,12]}}';
    expectFormatError(makeFile(header, new Array<number>(12).fill(0)), '"a"', '"b"', 'overlap');
  });

  it('allows gaps and zero-size tensors inside other ranges', () => {
    const header =
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"e":{"dtype":"F32","shape":[0,3],"data_offsets":[6,6]}}';
    const back = decodeSafetensors(makeFile(header, [9, 9, 9, 9, 0, 0, 0x80, 0x3f]));
    expect(Array.from((back.tensors['a'] as NamedTensorData).data)).toEqual([1]);
    expect((back.tensors['e'] as NamedTensorData).shape).toEqual([0, 3]);
  });

  it('rejects non-string metadata', () => {
    expectFormatError(makeFile('{"__metadata__":{"a":1}}'), '__metadata__');
    expectFormatError(makeFile('{"__metadata__":[]}'), '__metadata__');
  });
});

describe('safetensors dtype conversion', () => {
  function decodeOne(dtype: string, shape: number[], data: number[]): NamedTensorData {
    const header = JSON.stringify({ t: { dtype, shape, data_offsets: [0, data.length] } });
    const back = decodeSafetensors(makeFile(header, data));
    return back.tensors['t'] as NamedTensorData;
  }
  const u16le = (xs: number[]): number[] => xs.flatMap((x) => [x & 0xff, x >> 8]);

  it('converts F16 to float32', () => {
    const halves = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0x8000, 0x7c00, 0xfc00, 0x7e00];
    const t = decodeOne('F16', [halves.length], u16le(halves));
    expect(t.dtype).toBe('float32');
    const v = Array.from(t.data);
    expect(v.slice(0, 5)).toEqual([1, -2, 65504, 2 ** -24, 0.333251953125]);
    expect(Object.is(v[5], -0)).toBe(true);
    expect(v.slice(6, 8)).toEqual([Infinity, -Infinity]);
    expect(Number.isNaN(v[8])).toBe(true);
  });

  it('converts BF16 to float32', () => {
    const t = decodeOne('BF16', [4], u16le([0x3f80, 0xc040, 0x4049, 0x7f80]));
    expect(t.dtype).toBe('float32');
    expect(Array.from(t.data)).toEqual([1, -3, 3.140625, Infinity]);
  });

  it('converts F64 to float32 and I64 to int32', () => {
    const f64 = new Uint8Array(new Float64Array([0.1, -1e300]).buffer);
    const t = decodeOne('F64', [2], Array.from(f64));
    expect(Array.from(t.data)).toEqual([Math.fround(0.1), -Infinity]);
    const i64 = new Uint8Array(new BigInt64Array([-5n, 2n ** 31n - 1n]).buffer);
    const ti = decodeOne('I64', [2], Array.from(i64));
    expect(ti.dtype).toBe('int32');
    expect(Array.from(ti.data)).toEqual([-5, 2 ** 31 - 1]);
    const big = Array.from(new Uint8Array(new BigInt64Array([2n ** 31n]).buffer));
    const header = JSON.stringify({ t: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } });
    expectFormatError(makeFile(header, big), '"t"', 'int32');
  });
});
