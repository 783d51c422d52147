// Datasets out as TRL / OpenRLHF JSONL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportDataset } from '../../src/hf/export-dataset';
import { ConfigError, InputError } from '../../src/errors';

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'hf-export-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });
const rowsOf = async (path: string) => (await readFile(path, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('exportDataset', () => {
  it('pairs and K-way rankings -> {prompt, chosen, rejected}, rankings as their C(K,2) untied pairs tagged by group', async () => {
    const path = join(dir, 'sub', 'dpo.jsonl');
    const res = await exportDataset(path, {
      kind: 'preference',
      pairs: [{ prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' }],
      rankings: [{ prompt: 'Q', responses: ['a', 'b', 'c'], ranking: [2, 0, 1] }, { prompt: 'R', responses: ['x', 'y', 'z'], ranking: [0, 0, 1] }],
    });
    expect(res).toEqual({ path, rows: 1 + 3 + 2 });
    const rows = await rowsOf(path);
    expect(rows[0]).toEqual({ prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' });
    expect(rows.slice(1, 4)).toEqual([
      { prompt: 'Q', chosen: 'b', rejected: 'a', group: 0 }, { prompt: 'Q', chosen: 'c', rejected: 'a', group: 0 }, { prompt: 'Q', chosen: 'b', rejected: 'c', group: 0 },
    ]);
    expect(rows.slice(4).map((r) => [r.chosen, r.rejected, r.group])).toEqual([['x', 'z', 1], ['y', 'z', 1]]);
    expect((await readdir(join(dir, 'sub'))).filter((f) => f !== 'dpo.jsonl')).toEqual([]); // no temp files left
  });

  it('conversational and implicit-prompt forms', async () => {
    const pair = { prompt: 'Hi', chosen: ' there', rejected: ' go away' };
    await exportDataset(join(dir, 'c.jsonl'), { kind: 'preference', pairs: [pair] }, { format: 'conversational' });
    expect((await rowsOf(join(dir, 'c.jsonl')))[0]).toEqual({
      prompt: [{ role: 'user', content: 'Hi' }], chosen: [{ role: 'assistant', content: ' there' }], rejected: [{ role: 'assistant', content: ' go away' }],
    });
    await exportDataset(join(dir, 'rm.jsonl'), { kind: 'preference', pairs: [pair] }, { implicitPrompt: true });
    expect((await rowsOf(join(dir, 'rm.jsonl')))[0]).toEqual({ chosen: 'Hi there', rejected: 'Hi go away' });
  });

  it('demonstrations -> {prompt, completion} or messages; chats -> messages; prompts keep extra columns', async () => {
    await exportDataset(join(dir, 'sft.jsonl'), { kind: 'sft', demonstrations: [{ prompt: 'A', completion: 'B' }], chats: [{ messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }, { role: 'assistant', content: 'a' }] }] });
    const sft = await rowsOf(join(dir, 'sft.jsonl'));
    expect(sft).toEqual([{ prompt: 'A', completion: 'B' }, { messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }, { role: 'assistant', content: 'a' }] }]);
    await exportDataset(join(dir, 'sftc.jsonl'), { kind: 'sft', demonstrations: [{ prompt: 'A', completion: 'B' }] }, { format: 'conversational' });
    expect((await rowsOf(join(dir, 'sftc.jsonl')))[0]).toEqual({ messages: [{ role: 'user', content: 'A' }, { role: 'assistant', content: 'B' }] });
    await exportDataset(join(dir, 'prompts.jsonl'), { kind: 'prompts', prompts: ['p1', { prompt: 'p2', answer: '42' }] });
    expect(await rowsOf(join(dir, 'prompts.jsonl'))).toEqual([{ prompt: 'p1' }, { prompt: 'p2', answer: '42' }]);
  });

  it('any strings round-trip through the JSONL unchanged (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.record({ prompt: fc.string(), chosen: fc.string(), rejected: fc.string() }), { maxLength: 5 }), async (pairs) => {
      const path = join(dir, 'prop.jsonl');
      const { rows } = await exportDataset(path, { kind: 'preference', pairs });
      expect(rows).toBe(pairs.length);
      if (rows > 0) expect(await rowsOf(path)).toEqual(pairs);
    }), { numRuns: 30 });
  });

  it('bad input -> typed errors naming the field', async () => {
    await expect(exportDataset(join(dir, 'x.jsonl'), { kind: 'preference', pairs: [{ prompt: 'p', chosen: 3 as unknown as string, rejected: 'r' }] })).rejects.toThrow(/pairs\[0\]\.chosen = 3/);
    await expect(exportDataset(join(dir, 'x.jsonl'), { kind: 'nope' } as never)).rejects.toThrow(InputError);
    await expect(exportDataset(join(dir, 'x.jsonl'), { kind: 'prompts', prompts: [] }, { format: 'chat' as never })).rejects.toThrow(ConfigError);
  });
});
