import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tf } from '../../src/tf';
import { JudgeLabeler } from '../../src/feedback/judges/judge-labeler';
import { JudgeError } from '../../src/feedback/judges/judge-error';
import { rankingFromScores } from '../../src/feedback/judges/judge-parse';
import type { LabelRequest } from '../../src/feedback/types';
import { RewardModel } from '../../src/reward/reward-model';
import { TransformerPolicy } from '../../src/models/policy';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { servePolicy } from '../../src/serve/serve-policy';
import { ConfigError, InputError } from '../../src/errors';
import type { Logger } from '../../src/logging/logger';
import { setupBackend } from '../helpers/backend';

beforeAll(setupBackend);

const item: LabelRequest = { id: 'q1', prompt: 'Capital of France?', responses: ['Lyon', 'Paris', 'I do not know'] };

function recordingLogger(): Logger & { records: { level: string; message: string; data?: Record<string, unknown> }[] } {
  const records: { level: string; message: string; data?: Record<string, unknown> }[] = [];
  return { records, log: (level, message, data) => records.push({ level, message, ...(data ? { data } : {}) }) };
}

async function failure(p: Promise<unknown>): Promise<JudgeError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(JudgeError);
  return e as JudgeError;
}

describe('JudgeLabeler with a scoring function', () => {
  it('ranks by score (higher is better) and is named after the function', async () => {
    const byLength = (r: LabelRequest) => r.responses.map((x) => x.length);
    const judge = new JudgeLabeler({ judge: byLength });
    expect(judge.name).toBe('judge:byLength');
    expect(await judge.label(item)).toEqual({ kind: 'ranked', ranking: [2, 1, 0] });
  });

  it('reports wrong counts, non-finite scores and forbidden ties as JudgeError, or skips them with a warning', async () => {
    const cases: [(r: LabelRequest) => number[] | Promise<number[]>, RegExp][] = [
      [() => [1, 2], /3 scores/],
      [() => [1, Number.NaN, 2], /response 2 is not a finite number/],
      [async () => [1, 1, 0], /equal scores/],
      [() => {
        throw new Error('boom');
      }, /the judge threw: boom/],
    ];
    for (const [fn, reason] of cases) {
      const e = await failure(new JudgeLabeler({ judge: fn }).label(item));
      expect(e.reason).toMatch(reason);
      expect(e.itemId).toBe('q1');
      const logger = recordingLogger();
      const skipped = await new JudgeLabeler({ judge: fn, onFailure: 'skip', logger }).label(item);
      expect(skipped.kind).toBe('skipped');
      if (skipped.kind === 'skipped') expect(skipped.reason).toMatch(reason);
      expect(logger.records).toHaveLength(1);
      expect(logger.records[0]?.level).toBe('warn');
    }
    expect(await new JudgeLabeler({ judge: () => [1, 1, 0], allowTies: true }).label(item)).toEqual({ kind: 'ranked', ranking: [0, 0, 2] });
    // A full tie ranks nothing, even with ties allowed: a failure (or a skip), never an all-zero ranking.
    const full = await failure(new JudgeLabeler({ judge: () => [2, 2, 2], allowTies: true }).label(item));
    expect(full.reason).toMatch(/all 3 responses have the same score/);
    expect((await new JudgeLabeler({ judge: () => [2, 2, 2], allowTies: true, onFailure: 'skip' }).label(item)).kind).toBe('skipped');
  });

  it('shuffles what the judge sees with a per-item seeded order and maps the ranking back', async () => {
    const seen: string[][] = [];
    const judge = new JudgeLabeler({
      judge: (r) => {
        seen.push([...r.responses]);
        return r.responses.map((x) => Number(x.slice(1)));
      },
      shuffle: true,
      seed: 9,
    });
    const responses = ['s0', 's1', 's2', 's3', 's4'];
    for (let i = 0; i < 12; i++) {
      const j = await judge.label({ id: `item-${i}`, prompt: 'p', responses });
      expect(j).toEqual({ kind: 'ranked', ranking: [4, 3, 2, 1, 0] });
    }
    expect(seen.some((order) => order.join() !== responses.join())).toBe(true);
    expect(new Set(seen.map((o) => o.join())).size).toBeGreaterThan(1);
    expect(judge.order({ id: 'item-3', prompt: 'p', responses })).toEqual(judge.order({ id: 'item-3', prompt: 'q', responses }));
  });

  it('validates options and requests', async () => {
    expect(() => new JudgeLabeler({ judge: 42 as never })).toThrow(ConfigError);
    expect(() => new JudgeLabeler({ judge: { baseUrl: 'localhost:1', model: 'm' } })).toThrow(/baseUrl/);
    expect(() => new JudgeLabeler({ judge: { baseUrl: 'http://x/v1', model: '' } })).toThrow(/judge.model/);
    expect(() => new JudgeLabeler({ judge: () => [], principles: [] })).toThrow(/principles/);
    expect(() => new JudgeLabeler({ judge: () => [], onFailure: 'guess' as never })).toThrow(/onFailure/);
    await expect(new JudgeLabeler({ judge: () => [1] }).label({ id: 'x', prompt: 'p', responses: ['only'] })).rejects.toThrow(InputError);
    // The shared request check of every labeller (the judge's own drifted copy accepted these).
    const judge = new JudgeLabeler({ judge: () => [1, 2] });
    await expect(judge.label({ id: '', prompt: 'p', responses: ['a', 'b'] })).rejects.toThrow(/request\.id/);
    await expect(judge.label({ id: 'x', prompt: 'p', responses: ['a', 'b'], criteria: ['helpful', 'helpful'] })).rejects.toThrow(/request\.criteria\[1\].*listed twice/);
    await expect(judge.label({ id: 'x', prompt: 'p', responses: ['a', 'b'], criteria: [''] })).rejects.toThrow(InputError);
  });
});

describe('JudgeLabeler with a reward model', () => {
  it('ranks by reward-model scores of the tokenized prompt and response (EOS appended), leaking no tensors', async () => {
    const tok = new ByteTokenizer();
    const rm = new RewardModel({ vocabSize: tok.vocabSize, contextLength: 64, nLayer: 1, nHead: 2, dModel: 16, seed: 3 });
    expect(() => new JudgeLabeler({ judge: rm })).toThrow(/tokenizer/);
    const judge = new JudgeLabeler({ judge: rm, tokenizer: tok });
    expect(judge.name).toBe('judge:reward-model');
    const before = tf.memory().numTensors;
    const got = await judge.label(item);
    expect(tf.memory().numTensors).toBe(before);
    const p = tok.encode(item.prompt);
    const scores = await rm.score(item.responses.map(() => p), item.responses.map((r) => [...tok.encode(r), tok.eosId]));
    expect(got).toEqual({ kind: 'ranked', ranking: rankingFromScores(scores) });
    const tooLong = await failure(judge.label({ id: 'long', prompt: 'x'.repeat(80), responses: ['a', 'b'] }));
    expect(tooLong.reason).toMatch(/the judge threw/);
    rm.dispose();
  });
});

/** A scripted OpenAI-compatible server: `answer(userMessage)` gives [status, body]. */
async function scriptedServer(answer: (user: string, req: IncomingMessage) => [number, string] | Promise<[number, string]>) {
  const requests: { body: any; auth: string | undefined }[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (c: Buffer) => { text += c.toString(); });
    req.on('end', async () => {
      const body = JSON.parse(text);
      requests.push({ body, auth: req.headers.authorization });
      const [status, out] = await answer(body.messages[body.messages.length - 1].content, req);
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(out);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const completion = (content: string) => JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] });

/** Ranks the shown responses by how many letters they have, longest first, as "Response n" labels. */
function rankByLength(user: string): string {
  const shown = [...user.matchAll(/Response (\d+):\n<<<\n([\s\S]*?)\n>>>/g)].map((m) => ({ n: Number(m[1]), text: m[2] as string }));
  shown.sort((a, b) => b.text.length - a.text.length);
  return `Here is my reasoning in prose.\n\n\`\`\`\nRANKING: ${shown.map((s) => `Response ${s.n}`).join(' > ')}\n\`\`\``;
}

describe('JudgeLabeler with an OpenAI-compatible endpoint', () => {
  it('sends the principles and numbered responses and reads a well-formed ranking over HTTP (shuffled or not)', async () => {
    const s = await scriptedServer((user) => [200, completion(rankByLength(user))]);
    try {
      const judge = new JudgeLabeler({ judge: { baseUrl: `${s.baseUrl}/`, model: 'scripted', apiKey: 'k1' }, principles: ['Longer is better.'] });
      expect(judge.name).toBe('judge:scripted');
      const got = await judge.label(item);
      expect(got.kind).toBe('ranked');
      if (got.kind === 'ranked') {
        expect(got.ranking).toEqual([2, 1, 0]);
        expect(got.note).toContain('RANKING: Response 3 > Response 2 > Response 1');
      }
      const sent = s.requests[0];
      expect(sent?.auth).toBe('Bearer k1');
      expect(sent?.body.model).toBe('scripted');
      expect(sent?.body.temperature).toBe(0);
      const userMsg = sent?.body.messages[1].content as string;
      expect(userMsg).toContain('1. Longer is better.');
      expect(userMsg).toContain('Response 2:\n<<<\nParis\n>>>');
      const shuffled = new JudgeLabeler({ judge: { baseUrl: s.baseUrl, model: 'scripted' }, shuffle: true, seed: 1 });
      for (let i = 0; i < 6; i++) expect(await shuffled.label({ ...item, id: `q${i}` })).toMatchObject({ ranking: [2, 1, 0] });
      const orders = s.requests.slice(1).map((r) => (r.body.messages[1].content as string).match(/<<<\n(Lyon|Paris|I do not know)\n>>>/g)?.join());
      expect(new Set(orders).size).toBeGreaterThan(1);
    } finally {
      await s.close();
    }
  });

  it('reports malformed answers, HTTP errors, non-completions and timeouts as JudgeError with the raw answer', async () => {
    const replies: [number, string, RegExp, string | undefined][] = [
      [200, completion('Response 2 is clearly the best one.'), /no "RANKING:" line/, 'Response 2 is clearly the best one.'],
      [200, completion('RANKING: 2 > 2 > 1'), /more than once/, 'RANKING: 2 > 2 > 1'],
      [200, completion('RANKING: 2 > 1'), /response 3 missing/, 'RANKING: 2 > 1'],
      [500, '{"error":{"message":"overloaded"}}', /HTTP 500/, '{"error":{"message":"overloaded"}}'],
      [200, '<html>proxy page</html>', /not answer with JSON/, '<html>proxy page</html>'],
      [200, '{"choices":[]}', /no choices\[0\]/, '{"choices":[]}'],
    ];
    let next = 0;
    const s = await scriptedServer(() => {
      const [status, body] = replies[next++] as [number, string, RegExp, string | undefined];
      return [status, body];
    });
    try {
      const judge = new JudgeLabeler({ judge: { baseUrl: s.baseUrl, model: 'scripted' } });
      for (const [, , reason, raw] of replies) {
        const e = await failure(judge.label(item));
        expect(e.reason).toMatch(reason);
        expect(e.raw).toBe(raw);
        expect(e.judge).toBe('judge:scripted');
      }
    } finally {
      await s.close();
    }
    const slow = await scriptedServer(() => new Promise((resolve) => setTimeout(() => resolve([200, completion('RANKING: 1 > 2 > 3')]), 1500)));
    try {
      const e = await failure(new JudgeLabeler({ judge: { baseUrl: slow.baseUrl, model: 'slow', timeoutMs: 100 } }).label(item));
      expect(e.reason).toMatch(/timeoutMs = 100/);
      const controller = new AbortController();
      const pending = new JudgeLabeler({ judge: { baseUrl: slow.baseUrl, model: 'slow' }, onFailure: 'skip' }).label(item, controller.signal);
      setTimeout(() => controller.abort(new Error('user stopped')), 50);
      await expect(pending).rejects.toThrow('user stopped');
    } finally {
      await slow.close();
    }
    const refused = await failure(new JudgeLabeler({ judge: { baseUrl: 'http://127.0.0.1:1/v1', model: 'none' } }).label(item));
    expect(refused.reason).toMatch(/request failed/);
  });

  it('reports the nonsense of a real (untrained) served policy as a JudgeError carrying its text, never a guessed ranking', async () => {
    const tok = new ByteTokenizer();
    const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { contextLength: 768, seed: 5 });
    const server = await servePolicy({ policy, tokenizer: tok, model: 'tiny-judge', apiKey: 'k2', maxNewTokens: 24 });
    try {
      const endpoint = { baseUrl: `${server.url}/v1`, model: 'tiny-judge', apiKey: 'k2', maxTokens: 24 };
      const judge = new JudgeLabeler({ judge: endpoint, principles: ['Prefer correct answers.'] });
      const e = await failure(judge.label(item));
      expect(e.raw).toBeDefined();
      expect(e.reason).not.toMatch(/HTTP|request failed|timeoutMs/);
      const direct = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer k2' },
        body: JSON.stringify({ model: 'tiny-judge', temperature: 0, max_tokens: 24, messages: (await import('../../src/feedback/judges/judge-prompt')).judgeMessages(item.prompt, item.responses, ['Prefer correct answers.'], false) }),
      });
      expect(e.raw).toBe((await direct.json()).choices[0].message.content);
      const skipped = await new JudgeLabeler({ judge: endpoint, principles: ['Prefer correct answers.'], onFailure: 'skip' }).label(item);
      expect(skipped.kind).toBe('skipped');
      const wrongKey = await failure(new JudgeLabeler({ judge: { ...endpoint, apiKey: 'nope' } }).label(item));
      expect(wrongKey.reason).toBe('HTTP 401');
      expect(wrongKey.raw).toContain('invalid_api_key');
    } finally {
      await server.close();
      policy.dispose();
    }
  });
});
