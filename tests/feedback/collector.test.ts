import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { readAll, readRankings } from '../../src/data/jsonl';
import { ConfigError, FileFormatError, InputError } from '../../src/errors';
import type { Logger, ProgressEvent } from '../../src/logging/logger';
import { PreferenceCollector, promptId, skippedFileOf, type PreferenceCollectorOptions } from '../../src/feedback/collect/collector';
import { appendDurable, readDurableJsonl } from '../../src/feedback/collect/durable-append';
import type { Judgement, Labeler, LabelRequest } from '../../src/feedback/types';
import { setupBackend } from '../helpers/backend';
import { childPrompts } from './fixtures/prompts';

const root = resolve(__dirname, '../..');
const tokenizer = new ByteTokenizer();
let policy: TransformerPolicy;
let dir: string;
let n = 0;

beforeAll(async () => {
  await setupBackend();
  policy = TransformerPolicy.fromPreset('tiny', tokenizer.vocabSize);
  dir = mkdtempSync(join(tmpdir(), 'collector-'));
});
afterAll(() => {
  policy.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const fresh = (): string => join(dir, `prefs-${n++}.jsonl`);

/** A labeller answering from a script, recording what it was asked. */
class ScriptedLabeler implements Labeler {
  readonly name = 'script';
  readonly asked: LabelRequest[] = [];
  constructor(private readonly answer: (r: LabelRequest) => unknown) {}
  async label(request: LabelRequest): Promise<Judgement> {
    this.asked.push(request);
    return this.answer(request) as Judgement;
  }
}

const reverse = (r: LabelRequest): Judgement => ({ kind: 'ranked', ranking: r.responses.map((_, i, a) => a.length - 1 - i) });

function collector(labeler: Labeler, file: string, extra: Partial<PreferenceCollectorOptions> = {}): PreferenceCollector {
  return new PreferenceCollector({ policy, tokenizer, labeler, file, k: 3, sampling: { maxNewTokens: 6 }, seed: 1, ...extra });
}

const lines = (file: string): Record<string, unknown>[] =>
  readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('PreferenceCollector', () => {
  it('writes K-way records readable by readRankings, with metadata, progress and no tensor leak', async () => {
    const file = fresh();
    const labeler = new ScriptedLabeler((r) => ({
      kind: 'ranked', ranking: [2, 0, 1], flagged: [2], note: `ok ${r.prompt}`,
      ratings: { helpful: [1, 7, 4], harmless: [7, 7, 2] },
    }));
    const events: ProgressEvent[] = [];
    const logger: Logger = { log: () => undefined, progress: (e) => events.push(e) };
    const before = tf.memory().numTensors;
    const summary = await collector(labeler, file, { logger }).collect(['Hi', 'Tell me a joke', '']);
    expect(tf.memory().numTensors).toBe(before);
    expect(summary).toEqual({ total: 3, labelled: 3, skipped: 0, alreadyDone: 0, aborted: false });
    expect(labeler.asked.map((r) => r.criteria)).toEqual([['helpful', 'truthful', 'harmless'], ['helpful', 'truthful', 'harmless'], ['helpful', 'truthful', 'harmless']]);
    const rows = await readAll(readRankings(file));
    expect(rows.map((r) => r.prompt)).toEqual(['Hi', 'Tell me a joke', '']);
    rows.forEach((row, i) => {
      expect(row.responses).toEqual(labeler.asked[i]?.responses);
      expect(row.responses).toHaveLength(3);
      expect(row.ranking).toEqual([2, 0, 1]);
    });
    const raw = lines(file);
    expect(raw[1]).toMatchObject({ id: promptId('Tell me a joke'), labeler: 'script', flagged: [2], note: 'ok Tell me a joke', ratings: { helpful: [1, 7, 4] } });
    expect(Date.parse(raw[1]?.time as string)).not.toBeNaN();
    expect(existsSync(skippedFileOf(file))).toBe(false);
    expect(events.map((e) => [e.task, e.done, e.total])).toEqual([['collect', 1, 3], ['collect', 2, 3], ['collect', 3, 3]]);
  });

  it('samples the same responses for the same seed and prompt, different ones for another seed', async () => {
    const ask = async (seed: number) => {
      const labeler = new ScriptedLabeler(reverse);
      await collector(labeler, fresh(), { seed }).collect(['Once upon a time']);
      return labeler.asked[0]?.responses;
    };
    const a = await ask(7);
    expect(await ask(7)).toEqual(a);
    expect(await ask(8)).not.toEqual(a);
  });

  it('resumes: skips ids already ranked or skipped (sidecar file), and duplicate prompts', async () => {
    const file = fresh();
    const first = new ScriptedLabeler((r) => (r.prompt === 'B' ? { kind: 'skipped', reason: 'unclear' } : reverse(r)));
    expect(await collector(first, file).collect(['A', 'B', 'C'])).toMatchObject({ labelled: 2, skipped: 1, alreadyDone: 0 });
    expect(skippedFileOf(file)).toBe(file.replace(/\.jsonl$/, '.skipped.jsonl'));
    expect(lines(skippedFileOf(file))).toEqual([expect.objectContaining({ id: promptId('B'), prompt: 'B', skipped: true, reason: 'unclear', labeler: 'script' })]);
    expect((await readAll(readRankings(file))).map((r) => r.prompt)).toEqual(['A', 'C']);

    const second = new ScriptedLabeler(reverse);
    const summary = await collector(second, file).collect(['A', 'B', 'C', 'D', 'D']);
    expect(summary).toEqual({ total: 5, labelled: 1, skipped: 0, alreadyDone: 4, aborted: false });
    expect(second.asked.map((r) => r.prompt)).toEqual(['D']);
    expect((await readAll(readRankings(file))).map((r) => r.prompt)).toEqual(['A', 'C', 'D']);
  });

  it('rejects invalid judgements with an InputError naming the labeller, writing nothing', async () => {
    const bad: unknown[] = [
      { kind: 'ranked', ranking: [0, 1] },
      { kind: 'ranked', ranking: [0, 1, 3] },
      { kind: 'ranked', ranking: [0, 0.5, 1] },
      { kind: 'ranked', ranking: [1, 1, 1] },
      { kind: 'ranked', ranking: [0, 1, 2], ratings: { helpful: [1, 8, 3] } },
      { kind: 'ranked', ranking: [0, 1, 2], ratings: { helpful: [1, 2] } },
      { kind: 'ranked', ranking: [0, 1, 2], ratings: { funny: [1, 2, 3] } },
      { kind: 'ranked', ranking: [0, 1, 2], flagged: [3] },
      { kind: 'ranked', ranking: [0, 1, 2], rankings: [0, 1, 2] },
      { kind: 'maybe' },
      null,
    ];
    for (const answer of bad) {
      const file = fresh();
      const err = await collector(new ScriptedLabeler(() => answer), file).collect(['x']).catch((e: unknown) => e);
      expect(err, JSON.stringify(answer)).toBeInstanceOf(InputError);
      expect((err as Error).message).toContain('labeler "script"');
      expect(existsSync(file) || existsSync(skippedFileOf(file))).toBe(false);
    }
  });

  it('validates options with ConfigError and prompts with InputError', async () => {
    const l = new ScriptedLabeler(reverse);
    expect(() => collector(l, fresh(), { k: 1 })).toThrow(ConfigError);
    expect(() => collector(l, fresh(), { k: 10 })).toThrow(ConfigError);
    expect(() => collector(l, fresh(), { criteria: ['a', 'a'] })).toThrow(/criteria\[1\]/);
    expect(() => collector(l, '')).toThrow(ConfigError);
    expect(() => collector(l, fresh(), { sampling: { temperature: -1 } })).toThrow(/temperature/);
    expect(() => collector(l, fresh(), { sampling: { maxNewTokens: 0 } })).toThrow(/sampling\.maxNewTokens/);
    expect(() => collector(l, fresh(), { seed: 1.5 })).toThrow(ConfigError);
    await expect(collector(l, fresh()).collect(['ok', 3 as unknown as string])).rejects.toThrow(/prompts\[1\]/);
  });

  it('stops on abort without saving the item being judged', async () => {
    const file = fresh();
    const controller = new AbortController();
    const labeler: Labeler = {
      name: 'slow',
      label: (_r, signal) => new Promise((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(new Error('aborted')));
        setTimeout(() => controller.abort(), 5);
      }),
    };
    const summary = await collector(labeler, file).collect(['a', 'b'], { signal: controller.signal });
    expect(summary).toMatchObject({ labelled: 0, aborted: true });
    expect(existsSync(file)).toBe(false);
  });

  it('repairs a torn last line on resume (warning), and refuses a corrupt complete line', async () => {
    const file = fresh();
    await collector(new ScriptedLabeler(reverse), file).collect(['A']);
    appendFileSync(file, '{"id":"torn","prompt":"B","respo');
    const warnings: string[] = [];
    const logger: Logger = { log: (level, message) => { if (level === 'warn') warnings.push(message); } };
    const summary = await collector(new ScriptedLabeler(reverse), file, { logger }).collect(['A', 'B']);
    expect(summary).toMatchObject({ labelled: 1, alreadyDone: 1 });
    expect(warnings).toEqual([expect.stringMatching(/:2: ignoring a torn last line/)]);
    expect((await readAll(readRankings(file))).map((r) => r.prompt)).toEqual(['A', 'B']);

    writeFileSync(file, `${readFileSync(file, 'utf8')}{not json}\n${JSON.stringify({ id: 'z', prompt: 'z', responses: ['a', 'b'], ranking: [0, 1] })}\n`);
    const err = await collector(new ScriptedLabeler(reverse), file).collect(['C']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileFormatError);
    expect(err).toMatchObject({ file, line: 3 });
  });

  it('survives SIGKILL: every reported id is in the file, and a restart labels only the rest', async () => {
    const file = fresh();
    const total = 40;
    const killAfter = 6;
    // Own process group (detached), so the SIGKILL reaches tsx's node process, not only the npx wrapper.
    const child = spawn('npx', ['tsx', 'tests/feedback/fixtures/collect-child.ts', file, String(total)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let killed = false;
    const reported: string[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, signal) => res(signal)));
    let buffered = '';
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() as string;
      for (const p of parts) if (p.startsWith('saved ')) reported.push(p.slice(6));
      if (reported.length >= killAfter && !killed) {
        killed = true;
        process.kill(-(child.pid as number), 'SIGKILL');
      }
    });
    const signal = await exited;
    expect(signal, stderr).toBe('SIGKILL');
    expect(reported.length).toBeGreaterThanOrEqual(killAfter);
    expect(reported.length).toBeLessThan(total);

    const saved = new Set<string>();
    for (const f of [file, skippedFileOf(file)]) {
      for (const r of (await readDurableJsonl(f, { repair: false })).records) saved.add((r.value as { id: string }).id);
    }
    for (const id of reported) expect(saved.has(id), id).toBe(true);

    // The killed session's lock is left behind; its process may take a moment to disappear after
    // the group's SIGKILL. Once it has, a new session takes the stale lock over.
    const holder = JSON.parse(readFileSync(`${file}.lock`, 'utf8')) as { pid: number };
    expect(holder.pid).not.toBe(process.pid);
    for (let t = 0; t < 100 && alive(holder.pid); t++) await new Promise((r) => setTimeout(r, 50));
    const labeler = new ScriptedLabeler(reverse);
    const summary = await collector(labeler, file).collect(childPrompts(total));
    expect(summary.alreadyDone).toBe(saved.size);
    expect(summary.labelled + summary.skipped + summary.alreadyDone).toBe(total);
    expect(labeler.asked.every((r) => !saved.has(r.id))).toBe(true);
    const ids = new Set([...lines(file), ...(existsSync(skippedFileOf(file)) ? lines(skippedFileOf(file)) : [])].map((r) => r.id));
    expect(ids.size).toBe(total);
    expect(await readAll(readRankings(file))).toHaveLength(total - lines(skippedFileOf(file)).length);
  }, 90_000);
});

/** Whether `pid` runs and is not a zombie. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) [ZX] /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('durable JSONL append', () => {
  it('reads back exactly the complete records after a cut at any byte (property)', async () => {
    const records = fc.array(fc.record({ id: fc.string(), v: fc.array(fc.integer(), { maxLength: 3 }), s: fc.string({ unit: 'grapheme' }) }), { minLength: 1, maxLength: 5 });
    await fc.assert(fc.asyncProperty(records, fc.double({ min: 0, max: 1, noNaN: true }), async (recs, cutAt) => {
      const file = fresh();
      for (const r of recs) await appendDurable(file, r);
      const full = readFileSync(file);
      const cut = Math.floor(cutAt * full.length);
      truncateSync(file, cut);
      const complete = full.subarray(0, cut).toString('utf8').split('\n').length - 1;
      const { records: back, torn } = await readDurableJsonl(file);
      // A cut that keeps a whole record but drops its newline keeps that record too.
      const expected = recs.slice(0, back.length);
      expect(back.map((r) => r.value)).toEqual(expected);
      expect(back.length === complete || back.length === complete + 1).toBe(true);
      expect(torn === undefined || back.length === complete).toBe(true);
      // After repair the file is whole lines only, so further appends read back cleanly.
      await appendDurable(file, { after: true });
      expect((await readDurableJsonl(file)).records.map((r) => r.value)).toEqual([...expected, { after: true }]);
    }), { numRuns: 60 });
  });

  it('creates the file and its missing folders on the first append', async () => {
    const file = join(dir, 'new', 'nested', 'c.jsonl');
    await appendDurable(file, { a: 1 });
    expect((await readDurableJsonl(file)).records.map((r) => r.value)).toEqual([{ a: 1 }]);
  });

  it('reads a missing file as empty and names file:line for invalid UTF-8 in a complete line', async () => {
    expect(await readDurableJsonl(join(dir, 'nope.jsonl'))).toEqual({ records: [] });
    const file = fresh();
    writeFileSync(file, Buffer.concat([Buffer.from('{"a":1}\n\n'), Buffer.from([0x22, 0xff, 0x22, 0x0a])]));
    await expect(readDurableJsonl(file)).rejects.toMatchObject({ line: 3, reason: 'invalid UTF-8' });
  });
});
