// Bounded, non-recursive value previews (issue 10 section 2): every error message that shows input
// goes through previewValue, so a 6000-deep array, a huge string or a cycle never overflows the
// stack or floods the message; the JSONL readers report such a line as file:line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { readAll, readChat, readPairs, readRankings, readSFT, writeJsonlLine } from '../../src/data/index';
import { ConfigError, FileFormatError, InputError, previewValue } from '../../src/errors';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-rlhf-preview-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const nest = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);

describe('previewValue', () => {
  it('renders small JSON values exactly as JSON.stringify does', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 3 }), (v) => {
      const json = JSON.stringify(v);
      fc.pre(json.length <= 80 && !json.includes('-0') && !/e[+-]/i.test(json));
      expect(previewValue(v)).toBe(json);
    }));
  });

  it('never throws and never exceeds maxChars, for any value', () => {
    fc.assert(fc.property(fc.anything({ withBigInt: true, withMap: true, withSet: true, withTypedArray: true, withDate: true, withNullPrototype: true }), fc.integer({ min: 8, max: 200 }), (v, max) => {
      expect(previewValue(v, max).length).toBeLessThanOrEqual(max);
    }));
  });

  it('cuts a 100 000-deep array, a 10 MB string and a cycle to a short preview', () => {
    expect(previewValue(nest(100_000))).toBe(`${'['.repeat(77)}...`);
    expect(previewValue('x'.repeat(10_000_000))).toBe(`"${'x'.repeat(76)}...`);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(previewValue(cyclic, 30)).toBe('{"a":1,"self":{"a":1,"self"...');
    const throwing = { get bad(): number { throw new Error('getter'); } };
    expect(previewValue(throwing)).toBe('{"bad":<unreadable>');
    expect(previewValue([1n, Symbol('s'), () => 1, undefined, NaN, -Infinity])).toBe('[1n,Symbol(),[function],undefined,NaN,-Infinity]');
    expect(previewValue(new Float32Array([1, 2.5]))).toBe('[1,2.5]');
    expect(previewValue(new Map([[1, 2]]))).toBe('Map(1)');
  });

  it('keeps ConfigError and InputError messages short for deep or huge values', () => {
    for (const e of [new InputError('x', nest(6000), 'bad'), new ConfigError('x', 'y'.repeat(1e6), 'bad')]) {
      expect(e.message.length).toBeLessThan(120);
    }
    expect(new InputError('p', 'abc', 'r').message).toBe('p = "abc": r');
    expect(new InputError('p', 3, 'r').message).toBe('p = 3: r');
  });
});

describe('JSONL readers on a deeply nested line', () => {
  const deepLine = `${'['.repeat(6000)}${']'.repeat(6000)}`;
  const readers = [
    ['readSFT', (f: string) => readSFT(f), `{"prompt":"p","completion":${deepLine}}`],
    ['readPairs', (f: string) => readPairs(f), `{"prompt":"p","chosen":"a","rejected":${deepLine}}`],
    ['readRankings', (f: string) => readRankings(f), `{"prompt":"p","responses":["a","b"],"ranking":[0,${deepLine}]}`],
    ['readChat', (f: string) => readChat(f), `{"messages":[{"role":${deepLine},"content":"x"}]}`],
    ['readSFT (bare)', (f: string) => readSFT(f), deepLine],
  ] as const;

  for (const [name, read, line] of readers) {
    it(`${name}: a FileFormatError naming file:line, not a bare RangeError`, async () => {
      const file = path.join(dir, `${name.replace(/\W/g, '')}.jsonl`);
      await fs.writeFile(file, `\n${line}\n`);
      const error = await readAll(read(file) as AsyncIterable<unknown>).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(FileFormatError);
      expect((error as FileFormatError).line).toBe(2);
      expect((error as Error).message.startsWith(`${file}:2: `)).toBe(true);
      expect((error as Error).message.length).toBeLessThan(file.length + 200);
    });
  }

  it('writeJsonlLine of a record too deep to serialise: a short InputError', () => {
    let deep: unknown = [];
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(() => writeJsonlLine(deep)).toThrow(InputError);
    try {
      writeJsonlLine(deep);
    } catch (e) {
      expect((e as Error).message.length).toBeLessThan(250);
    }
  });
});
