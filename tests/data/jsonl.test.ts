import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  parseSFT,
  readAll,
  readChat,
  readJsonl,
  readPairs,
  readRankings,
  readSFT,
  writeJsonlLine,
  type JsonlSource,
  type SFTExample,
} from '../../src/data/index';
import { ConfigError, FileFormatError, InputError } from '../../src/errors';

let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-rlhf-jsonl-'));
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function tmpFile(content: string | Uint8Array): Promise<string> {
  const file = path.join(dir, `f${counter++}.jsonl`);
  await fs.writeFile(file, content);
  return file;
}

async function* chunked(parts: readonly (string | Uint8Array)[]): AsyncGenerator<string | Uint8Array> {
  for (const p of parts) yield p;
}

async function expectFileError(p: Promise<unknown>, file: string, line: number, ...fragments: string[]): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(FileFormatError);
  const e = err as FileFormatError;
  expect(e.line).toBe(line);
  expect(e.message).toContain(`${file}:${line}: `);
  for (const f of fragments) expect(e.message).toContain(f);
}

const sft = (i: number): string => writeJsonlLine({ prompt: `p${i}`, completion: `c${i}` });

describe('readJsonl line handling', () => {
  it('reads rows, skipping blank lines, with CRLF, a BOM and no trailing newline', async () => {
    const file = await tmpFile(`\uFEFF${sft(1)}\r\n\r\n   \t\r\n${sft(2).trimEnd()}`);
    expect(await readAll(readSFT(file))).toEqual([
      { prompt: 'p1', completion: 'c1' },
      { prompt: 'p2', completion: 'c2' },
    ]);
  });
  it('reads an empty file, and a file of blank lines, as no rows', async () => {
    expect(await readAll(readSFT(await tmpFile('')))).toEqual([]);
    expect(await readAll(readSFT(await tmpFile('\n\r\n \n')))).toEqual([]);
  });
  it('reads string chunks, byte chunks and ReadableStreams alike', async () => {
    const text = `${sft(1)}${sft(2)}`;
    const expected = await readAll(readSFT(chunked([text])));
    expect(expected).toHaveLength(2);
    const bytes = new TextEncoder().encode(text);
    expect(await readAll(readSFT(chunked([bytes.subarray(0, 5), bytes.subarray(5)])))).toEqual(expected);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.subarray(0, 20));
        c.enqueue(bytes.subarray(20));
        c.close();
      },
    });
    expect(await readAll(readSFT(stream))).toEqual(expected);
  });
  it('keeps line numbers across CRLF and blank lines in error messages', async () => {
    // 1: row, 2: blank, 3: spaces, 4: row, 5: blank, 6: bad, 7: row
    const text = ['{"prompt":"a","completion":"b"}', '', '  ', '{"prompt":"a","completion":"b"}', '', '{"prompt": 1, "completion": "x"}', '{}'];
    const file = await tmpFile(text.join('\r\n'));
    await expectFileError(readAll(readSFT(file)), file, 6, 'field "prompt" must be a string', 'found number 1');
  });
  it('rejects invalid JSON with the parser message', async () => {
    const file = await tmpFile(`${sft(1)}{"prompt": "a",\n`);
    await expectFileError(readAll(readSFT(file)), file, 2, 'invalid JSON: ');
  });
  it('rejects invalid UTF-8 naming the line, never replacing it silently', async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode(sft(1)), 0x7b, 0xff, 0x7d, 0x0a]);
    const file = await tmpFile(bytes);
    await expectFileError(readAll(readSFT(file)), file, 2, 'not valid UTF-8');
  });
  it('rejects a line longer than maxLineLength, even without a newline', async () => {
    const long = JSON.stringify({ prompt: 'x'.repeat(1000), completion: '' });
    await expectFileError(readAll(readSFT(chunked([sft(1), long]), { maxLineLength: 500 })), '<stream>', 2, 'maxLineLength = 500');
    await expectFileError(
      readAll(readSFT(chunked(['x'.repeat(300), 'x'.repeat(300)]), { maxLineLength: 500, name: 'big' })),
      'big',
      1,
      'maxLineLength',
    );
  });
  it('reads very long lines split over many chunks', async () => {
    const prompt = 'é'.repeat(300_000);
    const file = await tmpFile(writeJsonlLine({ prompt, completion: 'c' }));
    const rows = await readAll(readSFT(file));
    expect(rows).toEqual([{ prompt, completion: 'c' }]);
  });
  it('names streams "<stream>" or the name option', async () => {
    const bad = '{"prompt": "p"}\n';
    await expectFileError(readAll(readSFT(chunked([bad]))), '<stream>', 1, 'missing field "completion"');
    await expectFileError(readAll(readSFT(chunked([bad]), { name: 'upload.jsonl' })), 'upload.jsonl', 1, 'completion');
  });
  it('rejects bad sources, chunks and options', async () => {
    expect(() => readSFT(42 as unknown as JsonlSource)).toThrow(InputError);
    expect(() => readSFT('x', { maxLineLength: 0 })).toThrow(ConfigError);
    expect(() => readRankings('x', { allowTies: 1 as unknown as boolean })).toThrow(ConfigError);
    await expect(readAll(readSFT(chunked([42 as unknown as string])))).rejects.toThrow(InputError);
    await expect(readAll(readSFT(path.join(dir, 'missing.jsonl')))).rejects.toThrow(/ENOENT/);
  });
  it('refuses to read a stream twice instead of yielding nothing', async () => {
    const rows = readSFT(chunked([sft(1)]));
    expect(await readAll(rows)).toHaveLength(1);
    await expect(readAll(rows)).rejects.toThrow(InputError);
    const file = await tmpFile(sft(1));
    const fromFile = readSFT(file);
    expect(await readAll(fromFile)).toEqual(await readAll(fromFile));
  });
  it('stops reading when the consumer breaks early', async () => {
    const file = await tmpFile(`${sft(1)}${sft(2)}not json\n`);
    const seen: SFTExample[] = [];
    for await (const r of readSFT(file)) {
      seen.push(r);
      break;
    }
    expect(seen).toEqual([{ prompt: 'p1', completion: 'c1' }]);
  });
  it('passes the location to a custom parser', async () => {
    const rows = await readAll(readJsonl(chunked(['1\n\n[2]\n']), (obj, where) => ({ obj, ...where })));
    expect(rows).toEqual([
      { obj: 1, file: '<stream>', line: 1 },
      { obj: [2], file: '<stream>', line: 3 },
    ]);
  });
});

describe('typed readers report malformed rows at file:line', () => {
  const cases: [string, (f: string) => Promise<unknown>, string, string[]][] = [
    ['sft', (f) => readAll(readSFT(f)), '["p", "c"]', ['expected a JSON object', 'found array']],
    ['pair', (f) => readAll(readPairs(f)), '{"prompt":"p","chosen":"a"}', ['missing field "rejected"']],
    ['pair', (f) => readAll(readPairs(f)), '{"prompt":"p","chosen":true,"rejected":"b"}', ['field "chosen"', 'found boolean']],
    ['ranking', (f) => readAll(readRankings(f)), '{"prompt":"p","responses":["a","b"],"ranking":[0]}', ['"ranking" has 1 entries']],
    ['ranking', (f) => readAll(readRankings(f)), '{"prompt":"p","responses":["a","b"],"ranking":[0,2]}', ['"ranking[1]" = 2']],
    ['ranking', (f) => readAll(readRankings(f)), '{"prompt":"p","responses":["a"],"ranking":[0]}', ['at least 2']],
    [
      'ranking',
      (f) => readAll(readRankings(f, { allowTies: false })),
      '{"prompt":"p","responses":["a","b","c"],"ranking":[1,0,1]}',
      ['"ranking[0]" and "ranking[2]" are both 1'],
    ],
    ['chat', (f) => readAll(readChat(f)), '{"messages":[]}', ['"messages" is empty']],
    ['chat', (f) => readAll(readChat(f)), '{"messages":[{"role":"bot","content":"x"}]}', ['"messages[0].role" is "bot"']],
    ['chat', (f) => readAll(readChat(f)), '{"messages":[{"role":"user","content":"x"}]}', ['no assistant turn']],
  ];
  it.each(cases.map(([k, r, b, f]) => [k, b, r, f] as const))('%s row %s', async (_kind, badLine, read, fragments) => {
    const file = await tmpFile(`\n${badLine}\n`);
    await expectFileError(read(file), file, 2, ...fragments);
  });
  it('reads valid rows of every kind', async () => {
    const pair = { prompt: 'p', chosen: 'a', rejected: 'b' };
    expect(await readAll(readPairs(chunked([writeJsonlLine(pair)])))).toEqual([pair]);
    const rank = { prompt: 'p', responses: ['a', 'b'], ranking: [1, 0] };
    expect(await readAll(readRankings(chunked([writeJsonlLine(rank)])))).toEqual([rank]);
    const chat = { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }] };
    expect(await readAll(readChat(chunked([writeJsonlLine(chat)])))).toEqual([chat]);
  });
});

describe('writeJsonlLine', () => {
  it('writes one line that reads back', async () => {
    const rec = { prompt: 'a\nb\r\n\u2028c', completion: '"é"' };
    const line = writeJsonlLine(rec);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(await readAll(readSFT(chunked([line, line])))).toEqual([rec, rec]);
  });
  it('rejects values with no JSON form', () => {
    expect(() => writeJsonlLine(undefined)).toThrow(InputError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => writeJsonlLine(cyclic)).toThrow(InputError);
  });
});

describe('streaming', () => {
  it('gives the same records for any chunking, including inside multi-byte characters', async () => {
    const row = fc.record({ prompt: fc.string({ unit: 'binary' }), completion: fc.string({ unit: 'binary' }) });
    const sep = fc.constantFrom('\n', '\r\n', '\n\n', '\n \r\n');
    const doc = fc.tuple(fc.array(fc.tuple(row, sep), { maxLength: 8 }), fc.boolean(), fc.boolean());
    await fc.assert(
      fc.asyncProperty(doc, fc.array(fc.nat(), { maxLength: 12 }), async ([rows, bom, trailing], cuts) => {
        let text = bom ? '\uFEFF' : '';
        rows.forEach(([r, s], i) => {
          text += JSON.stringify(r) + (i < rows.length - 1 || trailing ? s : '');
        });
        const bytes = new TextEncoder().encode(text);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const pieces: Uint8Array[] = [];
        let prev = 0;
        for (const p of [...points, bytes.length]) {
          pieces.push(bytes.subarray(prev, p));
          prev = p;
        }
        const whole = await readAll(readJsonl(chunked([bytes]), parseSFT));
        expect(whole).toEqual(rows.map(([r]) => r));
        expect(await readAll(readJsonl(chunked(pieces), parseSFT))).toEqual(whole);
        const chars = Array.from(text); // string chunks split between code points
        const strPieces = [chars.slice(0, chars.length >> 1).join(''), chars.slice(chars.length >> 1).join('')];
        expect(await readAll(readJsonl(chunked(strPieces), parseSFT))).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });
  it('streams a 200k-line file', async () => {
    const n = 200_000;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(`{"prompt":"prompt ${i} é","completion":"completion ${i}"}\n`);
    const file = await tmpFile(lines.join(''));
    const t0 = performance.now();
    let count = 0;
    let last: SFTExample | undefined;
    for await (const r of readSFT(file)) {
      count++;
      last = r;
    }
    const ms = performance.now() - t0;
    expect(count).toBe(n);
    expect(last).toEqual({ prompt: `prompt ${n - 1} é`, completion: `completion ${n - 1}` });
    expect(ms).toBeLessThan(3000);
  });
});
