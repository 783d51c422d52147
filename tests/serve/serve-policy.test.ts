import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { tokenizeChatPrompt } from '../../src/data/chat-template';
import { servePolicy, type PolicyServer } from '../../src/serve/serve-policy';
import { findStop, releasable, TURN_HEADERS } from '../../src/serve/completion';
import { ConfigError } from '../../src/errors';
import { setupBackend } from '../helpers/backend';

const tokenizer = new ByteTokenizer();
let policy: TransformerPolicy;
let server: PolicyServer;

beforeAll(async () => {
  await setupBackend();
  policy = TransformerPolicy.fromPreset('tiny', tokenizer.vocabSize, { contextLength: 128, seed: 7 });
  server = await servePolicy({ policy, tokenizer, model: 'tiny-test', seed: 3, maxNewTokens: 16 });
});
afterAll(async () => {
  await server?.close();
  policy?.dispose();
});

const user = [{ role: 'user', content: 'Say hi.' }];

async function post(body: unknown, url = server.url, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function postStream(body: Record<string, unknown>): Promise<{ contentType: string | null; events: string[] }> {
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }),
  });
  const text = await res.text();
  const events = text.split('\n\n').filter((e) => e !== '').map((e) => {
    expect(e.startsWith('data: ')).toBe(true);
    return e.slice(6);
  });
  return { contentType: res.headers.get('content-type'), events };
}

async function postStreamAt(url: string, body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }),
  });
  return streamedContent((await res.text()).split('\n\n').filter((e) => e !== '').map((e) => e.slice(6)));
}

function streamedContent(events: string[], index = 0): string {
  return events.slice(0, -1).map((e) => JSON.parse(e)).flatMap((c) => c.choices)
    .filter((c: any) => c.index === index).map((c: any) => c.delta.content ?? '').join('');
}

describe('servePolicy: OpenAI chat completions', () => {
  it('answers with the chat.completion shape and counts prompt tokens with the chat template', async () => {
    const { status, json } = await post({ model: 'tiny-test', messages: user, max_tokens: 8, seed: 11 });
    expect(status).toBe(200);
    expect(json.object).toBe('chat.completion');
    expect(json.id).toMatch(/^chatcmpl-/);
    expect(json.model).toBe('tiny-test');
    expect(Number.isInteger(json.created)).toBe(true);
    expect(json.choices).toHaveLength(1);
    const [choice] = json.choices;
    expect(choice.index).toBe(0);
    expect(choice.message.role).toBe('assistant');
    expect(typeof choice.message.content).toBe('string');
    expect(['stop', 'length']).toContain(choice.finish_reason);
    expect(json.usage.prompt_tokens).toBe(tokenizeChatPrompt(user as any, tokenizer).length);
    expect(json.usage.completion_tokens).toBeGreaterThan(0);
    expect(json.usage.completion_tokens).toBeLessThanOrEqual(8);
    expect(json.usage.total_tokens).toBe(json.usage.prompt_tokens + json.usage.completion_tokens);
    if (choice.finish_reason === 'length') expect(json.usage.completion_tokens).toBe(8);
  });

  it('streams chat.completion.chunk events ending in [DONE], with the same text as the non-streaming reply for a seed', async () => {
    const body = { model: 'tiny-test', messages: user, max_tokens: 40, temperature: 1, seed: 5 };
    const whole = await post(body);
    const { contentType, events } = await postStream({ ...body, stream_options: { include_usage: true } });
    expect(contentType).toMatch(/^text\/event-stream/);
    expect(events[events.length - 1]).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    for (const c of chunks) {
      expect(c.object).toBe('chat.completion.chunk');
      expect(c.model).toBe('tiny-test');
      expect(c.id).toBe(chunks[0].id);
    }
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const usageChunk = chunks[chunks.length - 1];
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toEqual(whole.json.usage);
    const finish = chunks[chunks.length - 2].choices[0];
    expect(finish.finish_reason).toBe(whole.json.choices[0].finish_reason);
    expect(streamedContent(events)).toBe(whole.json.choices[0].message.content);
  });

  it('continues a multi-turn conversation from the chat template (greedy equals policy.generate on tokenizeChatPrompt)', async () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
      { role: 'user', content: 'Bye' },
    ];
    const { json } = await post({ model: 'tiny-test', messages, max_tokens: 12, temperature: 0 });
    const ids = tokenizeChatPrompt(messages as any, tokenizer);
    expect(json.usage.prompt_tokens).toBe(ids.length);
    const { tokens } = await policy.generate([ids], { maxNewTokens: 12, temperature: 0, stopTokens: [tokenizer.eosId] });
    const text = tokenizer.decode(tokens[0] as number[]);
    const cut = findStop(text, TURN_HEADERS);
    expect(json.choices[0].message.content).toBe(cut === undefined ? text : text.slice(0, cut));
  });

  it('ends the reply at a stop string, streaming or not', async () => {
    const base = { model: 'tiny-test', messages: user, max_tokens: 30, temperature: 0 };
    const full = (await post(base)).json.choices[0].message.content as string;
    expect(full.length).toBeGreaterThan(4);
    const stop = full.slice(3, 5);
    const { json } = await post({ ...base, stop });
    expect(json.choices[0].message.content).toBe(full.slice(0, full.indexOf(stop)));
    expect(json.choices[0].finish_reason).toBe('stop');
    expect(json.usage.completion_tokens).toBeLessThan(30);
    const { events } = await postStream({ ...base, stop: [stop] });
    expect(streamedContent(events)).toBe(full.slice(0, full.indexOf(stop)));
  });

  it('returns n choices, each its own sample', async () => {
    const { json } = await post({ model: 'tiny-test', messages: user, max_tokens: 10, n: 3, seed: 2 });
    expect(json.choices.map((c: any) => c.index)).toEqual([0, 1, 2]);
    expect(new Set(json.choices.map((c: any) => c.message.content)).size).toBeGreaterThan(1);
  });

  it('serves concurrent requests one at a time with the same results as sequential ones', async () => {
    let running = 0;
    let most = 0;
    const watched = Object.create(policy) as TransformerPolicy;
    watched.generate = async (prompts, options) => {
      running++;
      most = Math.max(most, running);
      try {
        await new Promise((resolve) => setTimeout(resolve, 5)); // yield to the event loop, as GPU backends do
        return await policy.generate(prompts, options);
      } finally {
        running--;
      }
    };
    const s = await servePolicy({ policy: watched, tokenizer, model: 'tiny-test', chunkTokens: 2 });
    try {
      const bodies = [1, 2, 3, 4].map((seed) => ({ model: 'tiny-test', messages: user, max_tokens: 10, seed }));
      const parallel = await Promise.all(bodies.map(async (b, i) => (i % 2 === 0 ? (await post(b, s.url)).json.choices[0].message.content as string : postStreamAt(s.url, b))));
      expect(most).toBe(1);
      for (const [i, b] of bodies.entries()) {
        const alone = (await post(b, s.url)).json.choices[0].message.content;
        expect(parallel[i]).toBe(alone);
      }
    } finally {
      await s.close();
    }
  });

  it('lists the model', async () => {
    const list = await (await fetch(`${server.url}/v1/models`)).json();
    expect(list).toMatchObject({ object: 'list', data: [{ id: 'tiny-test', object: 'model', owned_by: 'tfjs-rlhf' }] });
    const card = await (await fetch(`${server.url}/v1/models/tiny-test`)).json();
    expect(card.id).toBe('tiny-test');
  });

  it('refuses bad requests with OpenAI-style error objects naming the field', async () => {
    const ok = { model: 'tiny-test', messages: user };
    const cases: [unknown, number, string | null][] = [
      ['{not json', 400, null],
      [[1, 2], 400, ''],
      [{ model: 'tiny-test' }, 400, 'messages'],
      [{ ...ok, messages: [] }, 400, 'messages'],
      [{ ...ok, messages: [{ role: 'tool', content: 'x' }] }, 400, 'messages[0].role'],
      [{ ...ok, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }, 400, 'messages[0].content[0]'],
      [{ ...ok, temperature: 5 }, 400, 'temperature'],
      [{ ...ok, top_p: 0 }, 400, 'top_p'],
      [{ ...ok, max_tokens: 0 }, 400, 'max_tokens'],
      [{ ...ok, max_tokens: 1.5 }, 400, 'max_tokens'],
      [{ ...ok, max_tokens: 500 }, 400, 'max_tokens'],
      [{ ...ok, messages: [{ role: 'user', content: 'x'.repeat(200) }] }, 400, 'messages'],
      [{ ...ok, n: 9 }, 400, 'n'],
      [{ ...ok, stop: ['a', 'b', 'c', 'd', 'e'] }, 400, 'stop'],
      [{ ...ok, stream: 'yes' }, 400, 'stream'],
      [{ ...ok, logprobs: true }, 400, 'logprobs'],
      [{ ...ok, model: 7 }, 400, 'model'],
      [{ ...ok, model: 'gpt-4o' }, 404, 'model'],
    ];
    for (const [body, status, param] of cases) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(typeof r.json.error.message).toBe('string');
      expect(r.json.error.type).toBe('invalid_request_error');
      expect(r.json.error.param).toBe(param);
    }
    expect((await post({ ...ok, max_tokens: 500 })).json.error.code).toBe('context_length_exceeded');
    const big = await post({ ...ok, messages: [{ role: 'user', content: 'x'.repeat(1_100_000) }] });
    expect(big.status).toBe(413);
    const notFound = await fetch(`${server.url}/v1/completions`, { method: 'POST', body: '{}' });
    expect(notFound.status).toBe(404);
    const wrongMethod = await fetch(`${server.url}/v1/chat/completions`);
    expect(wrongMethod.status).toBe(405);
    expect((await wrongMethod.json()).error.message).toMatch(/POST/);
  });

  it('leaves no tensors behind across requests', async () => {
    await post({ model: 'tiny-test', messages: user, max_tokens: 4 });
    const before = tf.memory().numTensors;
    await post({ model: 'tiny-test', messages: user, max_tokens: 20, n: 2 });
    await postStream({ model: 'tiny-test', messages: user, max_tokens: 20 });
    await post({ model: 'tiny-test', messages: [] });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('servePolicy: API key, options and shutdown', () => {
  it('enforces the bearer token', async () => {
    const keyed = await servePolicy({ policy, tokenizer, apiKey: 'sekrit', maxNewTokens: 4 });
    try {
      const body = { model: 'tfjs-rlhf', messages: user };
      const none = await post(body, keyed.url);
      expect(none.status).toBe(401);
      expect(none.json.error.code).toBe('invalid_api_key');
      expect((await post(body, keyed.url, { authorization: 'Bearer wrong!' })).status).toBe(401);
      expect((await fetch(`${keyed.url}/v1/models`)).status).toBe(401);
      const good = await post(body, keyed.url, { authorization: 'Bearer sekrit' });
      expect(good.status).toBe(200);
      expect(good.json.usage.completion_tokens).toBeLessThanOrEqual(4);
    } finally {
      await keyed.close();
    }
  });

  it('close() frees the port', async () => {
    const s = await servePolicy({ policy, tokenizer });
    await s.close();
    await expect(fetch(`${s.url}/v1/models`)).rejects.toThrow();
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(s.port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });

  it('validates its options', async () => {
    await expect(servePolicy({ policy, tokenizer, port: -1 })).rejects.toThrow(ConfigError);
    await expect(servePolicy({ policy, tokenizer, apiKey: '' })).rejects.toThrow(/apiKey/);
    await expect(servePolicy({ policy, tokenizer, maxNewTokens: 0 })).rejects.toThrow(/maxNewTokens/);
    const small = TransformerPolicy.fromPreset('tiny', 100);
    await expect(servePolicy({ policy: small, tokenizer })).rejects.toThrow(/vocabSize/);
    small.dispose();
  });
});

describe('stop-string helpers', () => {
  it('findStop finds the earliest stop; releasable holds back a partial stop and a partial UTF-8 character', () => {
    expect(findStop('ab<|user|>cd<|system|>', TURN_HEADERS)).toBe(2);
    expect(findStop('abc', TURN_HEADERS)).toBeUndefined();
    expect(releasable('hello <|us', TURN_HEADERS)).toBe(6);
    expect(releasable('hello <', TURN_HEADERS)).toBe(6);
    expect(releasable('hello', TURN_HEADERS)).toBe(5);
    expect(releasable('caf\ufffd', [])).toBe(3);
    expect(releasable('aaa', ['aab'])).toBe(1);
  });
});
