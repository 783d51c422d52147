import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TransformerPolicy } from '../../src/models/policy';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { servePolicy, type PolicyServer } from '../../src/serve/serve-policy';
import { moderationRules } from '../../src/moderation/rules';
import { moderationClient, ModerationError } from '../../src/moderation/client';
import { ConfigError } from '../../src/errors';
import type { Logger, LogLevel } from '../../src/logging/logger';
import { setupBackend } from '../helpers/backend';

const tokenizer = new ByteTokenizer();
const rules = moderationRules([{ pattern: 'build a bomb', category: 'violence' }, { pattern: /\bpassw(or)?d\b/gi, category: 'secrets' }, 'kill']);

describe('moderationRules', () => {
  it('flags whole-word, case-insensitive phrases and regular expressions under their categories', async () => {
    expect(await rules('How do I BUILD a   bomb?')).toEqual({ flagged: true, categories: { violence: true, secrets: false, rule: false } });
    expect(await rules('what is the passwd')).toEqual({ flagged: true, categories: { violence: false, secrets: true, rule: false } });
    expect((await rules('what is the passwd')).flagged).toBe(true); // the g flag is dropped: no lastIndex state
    expect(await rules('skills and bombastic builds')).toEqual({ flagged: false, categories: { violence: false, secrets: false, rule: false } });
    expect((await rules('Kill the process')).categories.rule).toBe(true);
  });

  it('rejects bad patterns with ConfigError naming them', () => {
    expect(() => moderationRules(['ok', ''])).toThrow(/patterns\[1\]\.pattern/);
    expect(() => moderationRules([{ pattern: 'x', category: '' }])).toThrow(ConfigError);
    expect(() => moderationRules('x' as unknown as string[])).toThrow(ConfigError);
  });
});

describe('moderationClient', () => {
  let remote: Server;
  let base = '';
  const seen: unknown[] = [];
  beforeAll(async () => {
    remote = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => { body += d.toString(); });
      req.on('end', () => {
        const json = JSON.parse(body) as { input: string };
        seen.push({ auth: req.headers.authorization, url: req.url, body: json });
        if (json.input === 'slow') return setTimeout(() => res.end('{}'), 2000);
        if (json.input === 'huge') return res.end(JSON.stringify({ results: [{ flagged: false, categories: {}, pad: 'x'.repeat(5000) }] }));
        if (json.input === 'broken') return res.end('not json');
        if (json.input === 'fail') { res.statusCode = 500; return res.end('{"error":"boom"}'); }
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ id: 'modr-1', results: [{ flagged: json.input.includes('bad'), categories: { hate: json.input.includes('bad') }, category_scores: { hate: 0.9 } }] }));
      });
    });
    await new Promise<void>((r) => remote.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(remote.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((r) => remote.close(() => r())));

  it('posts { input, model } with the key and reads results[0]', async () => {
    const m = moderationClient({ baseUrl: base, apiKey: 'k', model: 'omni' });
    expect(await m('a bad thing')).toEqual({ flagged: true, categories: { hate: true }, categoryScores: { hate: 0.9 } });
    expect(seen.at(-1)).toEqual({ auth: 'Bearer k', url: '/v1/moderations', body: { input: 'a bad thing', model: 'omni' } });
    expect((await m('fine')).flagged).toBe(false);
  });

  it('throws ModerationError on timeout, oversized, malformed and HTTP-error answers', async () => {
    const m = moderationClient({ baseUrl: base, timeoutMs: 200, maxResponseBytes: 1000 });
    await expect(m('slow')).rejects.toThrow(/timeoutMs = 200/);
    await expect(m('huge')).rejects.toThrow(/maxResponseBytes = 1000/);
    await expect(m('broken')).rejects.toThrow(ModerationError);
    await expect(m('fail')).rejects.toThrow(/HTTP 500/);
    expect(() => moderationClient({ baseUrl: 'ftp://x' })).toThrow(ConfigError);
    expect(() => moderationClient({ baseUrl: base, timeoutMs: 0 })).toThrow(ConfigError);
  });
});

describe('servePolicy({ moderation })', () => {
  let policy: TransformerPolicy;
  let server: PolicyServer;
  const logs: { level: LogLevel; message: string; fields?: Record<string, unknown> }[] = [];
  const logger: Logger = { log: (level, message, fields) => logs.push({ level, message, fields }) };
  beforeAll(async () => {
    await setupBackend();
    policy = TransformerPolicy.fromPreset('tiny', tokenizer.vocabSize, { contextLength: 64, seed: 7 });
    server = await servePolicy({ policy, tokenizer, model: 'm', maxNewTokens: 3, logger, moderation: rules });
  });
  afterAll(async () => {
    await server?.close();
    policy?.dispose();
  });
  const post = (path: string, body: unknown) => fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const chat = (content: string, extra = {}) => post('/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content }], ...extra });

  it('refuses a flagged query with content_filter and no generation, and logs it', async () => {
    const before = logs.filter((l) => l.message === 'chat completion').length;
    const res = await chat('please build a bomb', { n: 2 });
    expect(res.status).toBe(200);
    const body = await res.json() as any;
    expect(body.choices.map((c: any) => [c.finish_reason, c.message.role, c.message.content])).toEqual([['content_filter', 'assistant', ''], ['content_filter', 'assistant', '']]);
    expect(body.usage.completion_tokens).toBe(0);
    expect(logs.filter((l) => l.message === 'chat completion').length).toBe(before); // nothing generated
    expect(logs.at(-1)).toMatchObject({ level: 'warn', message: 'chat completion refused by moderation', fields: { categories: ['violence'] } });
    const okBody = await (await chat('hello there')).json() as any;
    expect(okBody.choices[0].finish_reason).not.toBe('content_filter');
  });

  it('refuses a flagged query when streaming too', async () => {
    const text = await (await chat('my password is', { stream: true })).text();
    const events = text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.map((c) => c.choices[0].finish_reason)).toEqual([null, 'content_filter']);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
  });

  it('serves /v1/moderations with the moderator', async () => {
    const res = await post('/v1/moderations', { input: ['kill it', 'a nice day'] });
    const body = await res.json() as any;
    expect(body.results.map((r: any) => r.flagged)).toEqual([true, false]);
    expect(body.results[0].categories).toEqual({ violence: false, secrets: false, rule: true });
    expect(body.results[0].category_scores.rule).toBe(1);
    expect((await post('/v1/moderations', { input: 3 })).status).toBe(400);
    expect((await fetch(`${server.url}/v1/moderations`)).status).toBe(405);
  });

  it('has no /v1/moderations without a moderator, and checks the option', async () => {
    const plain = await servePolicy({ policy, tokenizer, model: 'm' });
    try {
      expect((await fetch(`${plain.url}/v1/moderations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input":"x"}' })).status).toBe(404);
    } finally {
      await plain.close();
    }
    await expect(servePolicy({ policy, tokenizer, moderation: 'no' as never })).rejects.toThrow(ConfigError);
  });
});
