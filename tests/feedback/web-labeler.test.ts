import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { readAll, readRankings } from '../../src/data/jsonl';
import { ConfigError, RlhfError } from '../../src/errors';
import { PreferenceCollector } from '../../src/feedback/collect/collector';
import { WebLabeler } from '../../src/feedback/labelers/web-labeler';
import type { LabelRequest } from '../../src/feedback/types';
import { launchChromium, type LaunchedBrowser } from '../helpers/chromium';
import { setupBackend } from '../helpers/backend';

const SCRIPT = '<script>window.__pwned=1</script>';
const IMG = '<img src=x onerror="window.__pwned=2">';

let chromium: LaunchedBrowser;
let labeler: WebLabeler | undefined;

beforeAll(async () => {
  await setupBackend();
  chromium = await launchChromium();
});
afterAll(async () => {
  await chromium.close();
});
afterEach(async () => {
  await labeler?.close();
  labeler = undefined;
});

function request(id: string, responses: string[], criteria?: string[]): LabelRequest {
  return { id, prompt: `Which is best? <b>${id}</b>`, responses, ...(criteria && { criteria }) };
}

async function openPage(url: string): Promise<{ page: Page; csp: string | undefined; pwned: () => Promise<unknown> }> {
  const page = await chromium.browser.newPage();
  const res = await page.goto(url);
  return { page, csp: res?.headers()['content-security-policy'], pwned: () => page.evaluate(() => (window as { __pwned?: unknown }).__pwned) };
}

const cardTexts = (page: Page): Promise<string[]> => page.locator('#cards .card pre').allTextContents();

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: { error?: string } }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { error?: string } };
}

describe('WebLabeler', () => {
  it('shows model text inertly and ranks by keyboard, drag and drop, and skip', async () => {
    labeler = await WebLabeler.start();
    expect(labeler.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}$/);
    const first = labeler.label(request('one', ['plain answer', SCRIPT, IMG]));
    const { page, csp, pwned } = await openPage(labeler.url);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'nonce-[0-9a-f]+'/);
    await page.locator('#main').waitFor({ state: 'visible' });
    expect(await page.locator('#prompt').textContent()).toBe('Which is best? <b>one</b>');
    expect(await cardTexts(page)).toEqual(['plain answer', SCRIPT, IMG]);
    expect(await page.locator('img, #cards script').count()).toBe(0);
    // Enter before any ordering is refused: nothing is posted.
    await page.keyboard.press('Enter');
    expect(await page.locator('#error').textContent()).toMatch(/order first/);
    // Response 3 best, then 1, then (implied) 2.
    await page.keyboard.press('3');
    await page.keyboard.press('1');
    expect(await cardTexts(page)).toEqual([IMG, 'plain answer', SCRIPT]);
    await page.keyboard.press('Enter');
    expect(await first).toEqual({ kind: 'ranked', ranking: [1, 2, 0] });
    expect(await pwned()).toBeUndefined();

    // Second item: drag response 3 onto response 1's place, tie 2 with the card above, rate, flag.
    const second = labeler.label(request('two', ['alpha', 'beta', 'gamma'], ['helpful']));
    await page.locator('#prompt', { hasText: 'two' }).waitFor();
    await page.dragAndDrop('#cards .card:nth-child(3)', '#cards .card:nth-child(1)');
    expect(await cardTexts(page)).toEqual(['gamma', 'alpha', 'beta']);
    await page.locator('#cards .card:nth-child(3)').focus();
    await page.keyboard.press('=');
    await page.keyboard.press('f');
    const selects = page.locator('#cards select');
    for (const [i, v] of [[0, '7'], [1, '5'], [2, '2']] as const) await selects.nth(i).selectOption(v);
    await page.locator('#note').fill('beta is off-topic');
    await page.locator('#submit').click();
    // Card order is gamma, alpha, beta; the selects were set in that order: gamma 7, alpha 5, beta 2.
    expect(await second).toEqual({ kind: 'ranked', ranking: [1, 1, 0], ratings: { helpful: [5, 2, 7] }, flagged: [1], note: 'beta is off-topic' });

    const third = labeler.label(request('three', ['x', 'y']));
    await page.locator('#prompt', { hasText: 'three' }).waitFor();
    await page.keyboard.press('s');
    expect(await third).toEqual({ kind: 'skipped' });
    expect(labeler.pending).toBe(0);
    expect(await pwned()).toBeUndefined();
    await page.close();
  });

  it('refuses requests without the right token (403) and records nothing; validates posted bodies', async () => {
    labeler = await WebLabeler.start({ token: 'a'.repeat(32) });
    const pending = labeler.label(request('q', ['first', 'second']));
    const base = labeler.url.replace(/\?token=.*$/, '');
    const judgement = { key: 1, judgement: { kind: 'ranked', ranking: [1, 0] } };
    expect((await post(`${base}api/judgement`, judgement)).status).toBe(403);
    expect((await post(`${base}api/judgement?token=${'b'.repeat(32)}`, judgement)).status).toBe(403);
    expect((await post(`${base}api/judgement`, judgement, { 'X-Label-Token': 'a'.repeat(31) })).status).toBe(403);
    expect((await fetch(base)).status).toBe(403);
    expect((await fetch(`${base}api/next?token=wrong`)).status).toBe(403);
    expect(labeler.pending).toBe(1);

    const ok = { 'X-Label-Token': 'a'.repeat(32) };
    const next = (await (await fetch(`${base}api/next`, { headers: ok })).json()) as { item: { key: number; responses: string[] } };
    expect(next.item).toMatchObject({ key: 1, responses: ['first', 'second'] });
    const bad: [unknown, RegExp][] = [
      ['{not json', /not valid JSON/],
      [{ judgement: judgement.judgement }, /"key": number/],
      [{ key: 1, judgement: { kind: 'ranked', ranking: [0, 0] } }, /tied/],
      [{ key: 1, judgement: { kind: 'ranked', ranking: [0, 2] } }, /ranking\[1\]/],
      [{ key: 1, judgement: { kind: 'ranked', ranking: [0, 1], flagged: [5] } }, /flagged/],
      [{ key: 1, judgement: { kind: 'ranked', ranking: [0, 1], ratings: { helpful: [1, 2] } } }, /not asked/],
    ];
    for (const [body, reason] of bad) {
      const r = await post(`${base}api/judgement`, body, ok);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error).toMatch(reason);
    }
    expect((await post(`${base}api/judgement`, { key: 99, judgement: judgement.judgement }, ok)).status).toBe(409);
    expect((await post(`${base}api/judgement`, { key: 1, pad: 'x'.repeat(70_000) }, ok)).status).toBe(413);
    const form = await fetch(`${base}api/judgement`, { method: 'POST', headers: { ...ok, 'Content-Type': 'text/plain' }, body: JSON.stringify(judgement) });
    expect(form.status).toBe(415);
    expect(labeler.pending).toBe(1);

    expect((await post(`${base}api/judgement`, judgement, ok)).status).toBe(200);
    expect(await pending).toEqual({ kind: 'ranked', ranking: [1, 0] });
    expect((await post(`${base}api/judgement`, judgement, ok)).status).toBe(409);
  });

  it('withdraws an aborted item, rejects waiting items on close, and validates options', async () => {
    await expect(WebLabeler.start({ port: 70000 })).rejects.toThrow(ConfigError);
    await expect(WebLabeler.start({ token: 'short' })).rejects.toThrow(/token/);
    labeler = await WebLabeler.start();
    const controller = new AbortController();
    const aborted = labeler.label(request('a', ['1', '2']), controller.signal);
    expect(labeler.pending).toBe(1);
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    expect(labeler.pending).toBe(0);
    const waiting = labeler.label(request('b', ['1', '2']));
    await labeler.close();
    await expect(waiting).rejects.toThrow(RlhfError);
    await expect(labeler.label(request('c', ['1', '2']))).rejects.toThrow(/closed/);
  });

  it('drives PreferenceCollector end to end: the page ranking lands in the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'web-labeler-'));
    const tokenizer = new ByteTokenizer();
    const policy = TransformerPolicy.fromPreset('tiny', tokenizer.vocabSize);
    try {
      labeler = await WebLabeler.start();
      const file = join(dir, 'prefs.jsonl');
      const before = tf.memory().numTensors;
      const collector = new PreferenceCollector({ policy, tokenizer, labeler, file, k: 2, criteria: [], sampling: { maxNewTokens: 4 } });
      const done = collector.collect(['Say hi']);
      const { page } = await openPage(labeler.url);
      await page.locator('#main').waitFor({ state: 'visible' });
      await page.keyboard.press('2');
      await page.keyboard.press('Enter');
      expect(await done).toMatchObject({ labelled: 1 });
      expect(tf.memory().numTensors).toBe(before);
      const rows = await readAll(readRankings(file));
      expect(rows).toHaveLength(1);
      expect(rows[0]?.ranking).toEqual([1, 0]);
      await page.close();
    } finally {
      policy.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
