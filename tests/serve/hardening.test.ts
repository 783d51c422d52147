// Regression tests of the red-team findings on servePolicy (issue 10 section 2): cross-site simple
// requests, DNS rebinding, 500s on prototype-key roles and deeply nested values, an unbounded queue,
// Node's 300 s timeouts, and silent public binds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { TransformerPolicy } from '../../src/models/policy';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { servePolicy, type PolicyServer } from '../../src/serve/serve-policy';
import { SerialQueue } from '../../src/serve/queue';
import { ApiError, listenLocal, checkAddress, SERVER_TIMEOUTS } from '../../src/http/local-server';
import type { Logger, LogLevel } from '../../src/logging/logger';
import { setupBackend } from '../helpers/backend';

const tokenizer = new ByteTokenizer();
let policy: TransformerPolicy;
let server: PolicyServer;
const logs: { level: LogLevel; message: string }[] = [];
const logger: Logger = { log: (level, message) => logs.push({ level, message }) };
const completions = (): number => logs.filter((l) => l.message === 'chat completion').length;

beforeAll(async () => {
  await setupBackend();
  policy = TransformerPolicy.fromPreset('tiny', tokenizer.vocabSize, { contextLength: 64, seed: 7 });
  server = await servePolicy({ policy, tokenizer, model: 'm', seed: 3, maxNewTokens: 2, logger });
});
afterAll(async () => {
  await server?.close();
  policy?.dispose();
});

const ok = { model: 'm', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 };

/** A raw request, so the Host header can be anything (fetch always sends the URL's). */
function raw(path: string, options: { method?: string; headers?: Record<string, string>; body?: string; port?: number }): Promise<{ status: number; headers: Record<string, unknown>; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: options.port ?? server.port, path, method: options.method ?? 'POST', headers: options.headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const post = (body: unknown, headers: Record<string, string> = {}) =>
  raw('/v1/chat/completions', { headers: { 'content-type': 'application/json', host: `127.0.0.1:${server.port}`, ...headers }, body: JSON.stringify(body) });

describe('servePolicy hardening', () => {
  it('runs no completion for a cross-site simple request (text/plain, form, no Content-Type): 415', async () => {
    const before = completions();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json-seq', '']) {
      const headers: Record<string, string> = type === '' ? {} : { 'content-type': type };
      const r = await raw('/v1/chat/completions', { headers: { host: `127.0.0.1:${server.port}`, ...headers }, body: JSON.stringify(ok) });
      expect(r.status, type).toBe(415);
      expect(r.json.error.code).toBe('unsupported_media_type');
    }
    // The same request as in Chromium's no-cors fetch: text/plain with a JSON body.
    const res = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify(ok) });
    expect(res.status).toBe(415);
    expect(completions()).toBe(before);
    expect((await post(ok, { 'content-type': 'application/json; charset=utf-8' })).status).toBe(200);
    expect(completions()).toBe(before + 1);
  });

  it('answers only loopback Host values with its own port (DNS rebinding): 403 otherwise', async () => {
    const port = server.port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      expect((await post(ok, { host })).status, host).toBe(200);
    }
    const before = completions();
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1:${port + 1}`, `127.0.0.1.evil.example:${port}`, `localhost.:${port}`, '127.0.0.1']) {
      const r = await post(ok, { host });
      expect(r.status, host).toBe(403);
      expect(r.json.error.code).toBe('host_not_allowed');
    }
    expect((await raw('/v1/models', { method: 'GET', headers: { host: `attacker.test:${port}` } })).status).toBe(403);
    expect(completions()).toBe(before);
  });

  it('accepts a public host name only when the user lists it in allowedHosts', async () => {
    const open = await servePolicy({ policy, tokenizer, model: 'm', maxNewTokens: 2, allowedHosts: ['my-box.lan'] });
    const any = await servePolicy({ policy, tokenizer, model: 'm', maxNewTokens: 2, allowedHosts: ['*'] });
    try {
      const models = (port: number, host: string) => raw('/v1/models', { method: 'GET', port, headers: { host } });
      expect((await models(open.port, `my-box.lan:${open.port}`)).status).toBe(200);
      expect((await models(open.port, `other.lan:${open.port}`)).status).toBe(403);
      expect((await models(any.port, `anything.example:${any.port}`)).status).toBe(200);
    } finally {
      await open.close();
      await any.close();
    }
    await expect(servePolicy({ policy, tokenizer, allowedHosts: ['evil.example:80'] })).rejects.toThrow(/allowedHosts/);
  });

  it('answers 400 naming the field for prototype-key roles and 6000-deep nested values, with short messages', async () => {
    for (const role of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const r = await post({ ...ok, messages: [{ role, content: 'x' }] });
      expect(r.status, role).toBe(400);
      expect(r.json.error.param).toBe('messages[0].role');
    }
    // JSON.parse makes "__proto__" an own key: the message object must still be read safely.
    const protoKey = await raw('/v1/chat/completions', { headers: { 'content-type': 'application/json', host: `127.0.0.1:${server.port}` }, body: '{"model":"m","messages":[{"__proto__":{"role":"user"},"content":"x"}]}' });
    expect(protoKey.status).toBe(400);
    const deep = `${'['.repeat(6000)}${']'.repeat(6000)}`;
    for (const [field, param] of [['role', 'messages[0].role'], ['max_tokens', 'max_tokens'], ['temperature', 'temperature'], ['model', 'model']] as const) {
      const body = field === 'role'
        ? `{"model":"m","messages":[{"role":${deep},"content":"x"}]}`
        : field === 'model' ? `{"model":${deep},"messages":[]}` : `{"model":"m","messages":[{"role":"user","content":"x"}],"${field}":${deep}}`;
      const r = await raw('/v1/chat/completions', { headers: { 'content-type': 'application/json', host: `127.0.0.1:${server.port}` }, body });
      expect(r.status, field).toBe(400);
      expect(r.json.error.param).toBe(param);
      expect(r.json.error.message.length, field).toBeLessThan(300);
      expect(r.json.error.message).toContain('[[[[');
    }
  });

  it('bounds the queue: past maxQueue waiting requests the answer is 503 with Retry-After', async () => {
    let release = (): void => undefined;
    const gate = new Promise<void>((r) => { release = r; });
    const slow = Object.create(policy) as TransformerPolicy; // generation waits for the gate
    slow.generate = (async (...args: Parameters<TransformerPolicy['generate']>) => {
      await gate;
      return policy.generate(...args);
    }) as TransformerPolicy['generate'];
    const busy = await servePolicy({ policy: slow, tokenizer, model: 'm', maxNewTokens: 2, maxQueue: 1 });
    try {
      const send = () => raw('/v1/chat/completions', { port: busy.port, headers: { 'content-type': 'application/json', host: `127.0.0.1:${busy.port}` }, body: JSON.stringify(ok) });
      const running = send();
      const waiting = send();
      await new Promise((r) => setTimeout(r, 300)); // both are in: one running, one waiting
      const refused = await send();
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.json.error.code).toBe('queue_full');
      release();
      expect((await running).status).toBe(200);
      expect((await waiting).status).toBe(200);
      expect((await send()).status).toBe(200); // room again
    } finally {
      release();
      await busy.close();
    }
    await expect(servePolicy({ policy, tokenizer, maxQueue: -1 })).rejects.toThrow(/maxQueue/);
  });

  it('SerialQueue runs in order and refuses past its bound, freeing room as tasks finish', async () => {
    const q = new SerialQueue(1);
    const order: number[] = [];
    let open = (): void => undefined;
    const gate = new Promise<void>((r) => { open = r; });
    const first = q.run(async () => { await gate; order.push(1); });
    const second = q.run(async () => { order.push(2); });
    expect(() => q.run(async () => undefined)).toThrow(ApiError);
    open();
    await Promise.all([first, second]);
    expect(order).toEqual([1, 2]);
    await q.run(async () => undefined);
    expect(q.size).toBe(0);
  });
});

describe('local servers: timeouts and public binds', () => {
  it('sets request, header and keep-alive timeouts far below Node 300 s default', async () => {
    const { server: s } = await listenLocal(checkAddress({}), (_q, res) => res.end(), () => undefined, logger, 't');
    try {
      expect(s.requestTimeout).toBe(SERVER_TIMEOUTS.requestTimeout);
      expect(s.headersTimeout).toBe(SERVER_TIMEOUTS.headersTimeout);
      expect(s.keepAliveTimeout).toBe(SERVER_TIMEOUTS.keepAliveTimeout);
      expect(s.requestTimeout).toBeLessThanOrEqual(60_000);
      expect(s.headersTimeout).toBeLessThanOrEqual(s.requestTimeout);
    } finally {
      await new Promise((r) => s.close(r));
    }
  });

  it('logs a warning when bound to 0.0.0.0, none on 127.0.0.1', async () => {
    const seen: { level: LogLevel; message: string }[] = [];
    const log: Logger = { log: (level, message) => seen.push({ level, message }) };
    const local = await servePolicy({ policy, tokenizer, logger: log });
    await local.close();
    expect(seen.filter((l) => l.level === 'warn')).toEqual([]);
    const wide = await servePolicy({ policy, tokenizer, host: '0.0.0.0', logger: log });
    try {
      expect(seen.some((l) => l.level === 'warn' && /bound to 0\.0\.0\.0.*other machines/.test(l.message))).toBe(true);
      // Reached on the loopback interface, loopback Host values still work.
      expect((await raw('/v1/models', { method: 'GET', port: wide.port, headers: { host: `localhost:${wide.port}` } })).status).toBe(200);
    } finally {
      await wide.close();
    }
  });
});
