// Regression tests of the red-team findings on the local pages (issue 10 section 2): WebLabeler and
// TamerPage share servePolicy's Host and Content-Type rules, answer 400 (not 500) to deeply nested
// judgement fields, and warn when bound beyond loopback.
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { WebLabeler } from '../../src/feedback/labelers/web-labeler';
import { TamerPage } from '../../src/feedback/tamer/tamer-page';
import { TamerFeedback } from '../../src/feedback/tamer/tamer';
import { checkJudgement, judgementProblem } from '../../src/feedback/check-judgement';
import { InputError } from '../../src/errors';
import type { Logger, LogLevel } from '../../src/logging/logger';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function raw(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text.startsWith('{') ? JSON.parse(text) : text }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function recorder(): { logger: Logger; seen: { level: LogLevel; message: string }[] } {
  const seen: { level: LogLevel; message: string }[] = [];
  return { seen, logger: { log: (level, message) => seen.push({ level, message }) } };
}

async function webLabeler(options: Parameters<typeof WebLabeler.start>[0] = {}): Promise<{ w: WebLabeler; port: number; token: string }> {
  const w = await WebLabeler.start(options);
  closers.push(() => w.close());
  const url = new URL(w.url);
  return { w, port: Number(url.port), token: url.searchParams.get('token') as string };
}

const item = { id: 'x', prompt: 'p', responses: ['a', 'b', 'c'] };
const deep = `${'['.repeat(6000)}${']'.repeat(6000)}`;

describe('WebLabeler and TamerPage hardening', () => {
  it('WebLabeler: refuses foreign Host values (403) and non-JSON bodies (415); records nothing', async () => {
    const { w, port, token } = await webLabeler();
    const judged = w.label(item);
    const next = await raw(port, '/api/next', { headers: { host: `127.0.0.1:${port}`, 'x-label-token': token } });
    const key = next.json.item.key as number;
    const body = JSON.stringify({ key, judgement: { kind: 'ranked', ranking: [0, 1, 2] } });
    for (const host of [`evil.example:${port}`, `127.0.0.1:${port + 1}`]) {
      expect((await raw(port, '/', { headers: { host, 'x-label-token': token } })).status, host).toBe(403);
      expect((await raw(port, '/api/judgement', { method: 'POST', headers: { host, 'x-label-token': token, 'content-type': 'application/json' }, body })).status).toBe(403);
    }
    for (const type of ['text/plain', 'application/json-seq', 'application/x-www-form-urlencoded']) {
      expect((await raw(port, '/api/judgement', { method: 'POST', headers: { host: `localhost:${port}`, 'x-label-token': token, 'content-type': type }, body })).status, type).toBe(415);
    }
    expect(w.pending).toBe(1);
    const okPost = await raw(port, '/api/judgement', { method: 'POST', headers: { host: `localhost:${port}`, 'x-label-token': token, 'content-type': 'application/json; charset=utf-8' }, body });
    expect(okPost.status).toBe(200);
    await expect(judged).resolves.toEqual({ kind: 'ranked', ranking: [0, 1, 2] });
  });

  it('WebLabeler: a 6000-deep nested kind, ranking[i], flagged[i] or rating gets 400 with a short message, not 500', async () => {
    const { w, port, token } = await webLabeler({ criteria: ['helpful'] });
    const judged = w.label(item);
    const key = (await raw(port, '/api/next', { headers: { host: `127.0.0.1:${port}`, 'x-label-token': token } })).json.item.key as number;
    const cases = [
      `{"kind":${deep},"ranking":[0,1,2]}`,
      `{"kind":"ranked","ranking":[0,${deep},2]}`,
      `{"kind":"ranked","ranking":[0,1,2],"flagged":[${deep}]}`,
      `{"kind":"ranked","ranking":[0,1,2],"ratings":{"helpful":[1,${deep},3]}}`,
    ];
    for (const judgement of cases) {
      const r = await raw(port, '/api/judgement', { method: 'POST', headers: { host: `127.0.0.1:${port}`, 'x-label-token': token, 'content-type': 'application/json' }, body: `{"key":${key},"judgement":${judgement}}` });
      expect(r.status, judgement.slice(0, 40)).toBe(400);
      expect(r.json.error.length).toBeLessThan(200);
      expect(r.json.error).toContain('[[[[');
    }
    expect(w.pending).toBe(1);
    void judged.catch(() => undefined); // rejected by close()
  });

  it('checkJudgement: deep or huge values in a judgement give a bounded InputError', () => {
    const nested = JSON.parse(`{"kind":"ranked","ranking":[0,${deep}]}`) as unknown;
    const request = { ...item, responses: ['a', 'b'] };
    expect(() => checkJudgement(nested, request, 'l')).toThrow(InputError);
    try {
      checkJudgement(nested, request, 'l');
    } catch (e) {
      expect((e as Error).message.length).toBeLessThan(300);
    }
    expect(judgementProblem({ kind: 'x'.repeat(1_000_000) }, 2, [])?.length).toBeLessThan(200);
  });

  it('TamerPage: refuses foreign Host values (403) and non-JSON presses (415)', async () => {
    const feedback = new TamerFeedback({ minDelayMs: 10, maxDelayMs: 50 });
    const page = await TamerPage.start({ feedback });
    closers.push(() => page.close());
    const url = new URL(page.url);
    const port = Number(url.port);
    const token = url.searchParams.get('token') as string;
    const press = (host: string, type: string) => raw(port, '/api/feedback', { method: 'POST', headers: { host, 'x-label-token': token, 'content-type': type }, body: '{"value":1}' });
    expect((await press(`rebound.example:${port}`, 'application/json')).status).toBe(403);
    expect((await raw(port, '/', { headers: { host: `rebound.example:${port}`, 'x-label-token': token } })).status).toBe(403);
    expect((await press(`127.0.0.1:${port}`, 'text/plain')).status).toBe(415);
    expect(page.presses).toBe(0);
    expect((await press(`[::1]:${port}`, 'application/json')).status).toBe(200);
    expect(page.presses).toBe(1);
  });

  it('warns through the logger when a page is bound to 0.0.0.0, not on loopback', async () => {
    const quiet = recorder();
    await webLabeler({ logger: quiet.logger });
    expect(quiet.seen.filter((s) => s.level === 'warn')).toEqual([]);
    const loud = recorder();
    const { port } = await webLabeler({ host: '0.0.0.0', logger: loud.logger });
    expect(loud.seen.some((s) => s.level === 'warn' && s.message.includes('bound to 0.0.0.0'))).toBe(true);
    const tamer = recorder();
    const page = await TamerPage.start({ feedback: new TamerFeedback(), host: '0.0.0.0', logger: tamer.logger });
    closers.push(() => page.close());
    expect(tamer.seen.some((s) => s.level === 'warn' && s.message.includes('TamerPage is bound to 0.0.0.0'))).toBe(true);
    expect(port).toBeGreaterThan(0);
  });
});
