import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PassThrough } from 'node:stream';
import { ConfigError, InputError, RlhfError } from '../../src/errors';
import { TerminalLabeler, escapeForTerminal, parseAnswer } from '../../src/feedback/labelers/terminal-labeler';
import type { LabelRequest } from '../../src/feedback/types';

function streams(): { input: PassThrough; output: PassThrough; printed: () => string } {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (d: Buffer) => { text += d.toString(); });
  return { input, output, printed: () => text };
}

const req = (responses: string[], extra: Partial<LabelRequest> = {}): LabelRequest => ({ id: 'item1', prompt: 'Pick one', responses, ...extra });

describe('TerminalLabeler', () => {
  it('re-asks after an invalid answer with the reason, then accepts a valid order (piped input)', async () => {
    const { input, output, printed } = streams();
    const labeler = new TerminalLabeler({ input, output });
    input.write('2 2 1\n4 1 2\n2 1 3\n');
    expect(await labeler.label(req(['a', 'b', 'c']))).toEqual({ kind: 'ranked', ranking: [1, 0, 2] });
    expect(printed()).toContain('response 2 is listed twice');
    expect(printed()).toContain('there is no response 4');
    expect(printed()).toMatch(/\[1\]\n {4}a\n\[2\]\n {4}b\n\[3\]\n {4}c/);
    await labeler.close();
  });

  it('reads ties, flags, notes, skips and ratings over several items', async () => {
    const { input, output, printed } = streams();
    const labeler = new TerminalLabeler({ input, output, criteria: ['helpful'] });
    input.write('2>1=3! # 3 is rude\n7 9 1\n6 7 1\n');
    expect(await labeler.label(req(['a', 'b', 'c']))).toEqual({ kind: 'ranked', ranking: [1, 0, 1], flagged: [2], note: '3 is rude', ratings: { helpful: [6, 7, 1] } });
    expect(printed()).toContain('give 3 whole numbers from 1 to 7');
    input.write('s off-topic prompt\n');
    expect(await labeler.label(req(['a', 'b']))).toEqual({ kind: 'skipped', reason: 'off-topic prompt' });
    // The request's own criteria win; an empty ratings line leaves the criterion out.
    input.write('1 2\n\n');
    expect(await labeler.label(req(['a', 'b'], { criteria: ['truthful'] }))).toEqual({ kind: 'ranked', ranking: [0, 1] });
    input.write('1=2\nS\n');
    expect(await labeler.label(req(['a', 'b'], { criteria: [] }))).toEqual({ kind: 'skipped' });
    expect(printed()).toContain('everything is tied');
    await labeler.close();
  });

  it('escapes control characters in model text so it cannot drive the terminal', async () => {
    const { input, output, printed } = streams();
    const labeler = new TerminalLabeler({ input, output });
    input.write('1 2\n');
    await labeler.label(req(['\x1b[2J\x1b]0;pwned\x07 clear', 'over\rwrite \u202Eevil\u200b'], { prompt: 'p\x9bq' }));
    const out = printed();
    expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e\u200b]/);
    expect(out).toContain('\\x1b[2J\\x1b]0;pwned\\x07 clear');
    expect(out).toContain('over\\x0dwrite \\u202eevil\\u200b');
    expect(out).toContain('p\\x9bq');
  });

  it('rejects when the input ends or the signal aborts, without losing the pending line', async () => {
    const { input, output } = streams();
    const labeler = new TerminalLabeler({ input, output });
    const controller = new AbortController();
    const pending = labeler.label(req(['a', 'b']), controller.signal);
    setTimeout(() => controller.abort(new Error('stopped')), 10);
    await expect(pending).rejects.toThrow('stopped');
    input.write('2 1\n');
    expect(await labeler.label(req(['a', 'b']))).toEqual({ kind: 'ranked', ranking: [1, 0] });
    input.end();
    await expect(labeler.label(req(['a', 'b']))).rejects.toThrow(RlhfError);
  });

  it('validates options and requests', async () => {
    expect(() => new TerminalLabeler({ criteria: [''] })).toThrow(ConfigError);
    const { input, output } = streams();
    await expect(new TerminalLabeler({ input, output }).label(req(['only one']))).rejects.toThrow(InputError);
  });
});

describe('parseAnswer', () => {
  it('turns any order with ties into ranks that respect it (property)', () => {
    const orderArb = fc.integer({ min: 2, max: 9 }).chain((k) => fc.tuple(
      fc.shuffledSubarray(Array.from({ length: k }, (_, i) => i + 1), { minLength: k, maxLength: k }),
      fc.array(fc.constantFrom(' ', '>', '=', ' > ', ', '), { minLength: k - 1, maxLength: k - 1 }),
    ));
    fc.assert(fc.property(orderArb, ([order, seps]) => {
      const line = order.map((n, i) => (i === 0 ? String(n) : `${seps[i - 1]}${n}`)).join('');
      const parsed = parseAnswer(line, order.length);
      if (seps.every((s) => s === '=')) {
        expect(parsed).toEqual({ error: expect.stringMatching(/tied/) });
        return;
      }
      if (!('judgement' in parsed) || parsed.judgement.kind !== 'ranked') throw new Error(`not ranked: ${line}`);
      const { ranking } = parsed.judgement;
      for (let i = 1; i < order.length; i++) {
        const a = ranking[(order[i - 1] as number) - 1] as number;
        const b = ranking[(order[i] as number) - 1] as number;
        if (seps[i - 1] === '=') expect(b).toBe(a);
        else expect(b).toBe(i);
      }
      expect(ranking[(order[0] as number) - 1]).toBe(0);
    }));
  });

  it('explains missing responses and unreadable input', () => {
    expect(parseAnswer('1 3', 3)).toEqual({ error: 'every response needs a place; missing: 2' });
    expect(parseAnswer('first', 2)).toEqual({ error: expect.stringMatching(/cannot read/) });
    expect(parseAnswer('', 2)).toEqual({ error: expect.stringMatching(/"2 1"/) });
    expect(escapeForTerminal('tab\tand\nnewline kept')).toBe('tab\tand\nnewline kept');
  });
});
