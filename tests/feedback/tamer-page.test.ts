import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { TamerFeedback } from '../../src/feedback/tamer/tamer';
import { creditWeight, type ShownInterval } from '../../src/feedback/tamer/tamer-credit';
import { TamerPage } from '../../src/feedback/tamer/tamer-page';
import type { RewardSample } from '../../src/ppo/options';
import type { Logger } from '../../src/logging/logger';
import { ConfigError, RlhfError } from '../../src/errors';
import { launchChromium, type LaunchedBrowser } from '../helpers/chromium';

const IMG = '<img src=x onerror="window.__pwned=1">';

let chromium: LaunchedBrowser;
let page: TamerPage | undefined;

beforeAll(async () => {
  chromium = await launchChromium();
});
afterAll(async () => {
  await chromium.close();
});
afterEach(async () => {
  await page?.close();
  page = undefined;
});

interface LogRecord { message: string; data: { [k: string]: unknown } }
function recorder(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  return { records, logger: { log: (_level, message, data) => records.push({ message, data: data ?? {} }) } };
}

const sample = (prompt: string, response: string): RewardSample => ({ prompt, response, promptIds: [1, 2], responseIds: [3, 4] });

async function post(url: string, body: string, headers: { [k: string]: string } = {}): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
  await res.arrayBuffer();
  return res.status;
}

/** Waits until sample `index` is on the page and its response fully revealed. */
async function revealed(p: Page, index: number): Promise<void> {
  await p.waitForFunction((i) => document.body.dataset.index === String(i) && document.body.dataset.revealed === '1', index);
}

describe('TamerPage', () => {
  it('streams each sample inertly and turns live presses into TAMER rewards', async () => {
    const log = recorder();
    const feedback = new TamerFeedback({ minDelayMs: 50, maxDelayMs: 250, logger: log.logger });
    page = await TamerPage.start({ feedback, displayMs: 1000, logger: log.logger });
    expect(page.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}$/);
    const reward = page.rewardFunction();
    // Scoring starts before anyone looks: the page plays nothing until a viewer is connected.
    const scored = Promise.resolve(reward([sample('Say hi', 'hello there'), sample('Be <b>bold</b>', IMG), sample('Count', 'one two three')]));

    const p = await chromium.browser.newPage();
    const res = await p.goto(page.url);
    const csp = res?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'nonce-[0-9a-f]+'/);

    await revealed(p, 0);
    expect(await p.locator('#prompt').textContent()).toBe('Say hi');
    expect(await p.locator('#response').textContent()).toBe('hello there');
    await p.keyboard.press('ArrowUp'); // +1 while sample 1 is on screen
    await p.locator('#sent', { hasText: '1 press recorded' }).waitFor();

    await revealed(p, 1); // no press for sample 2
    expect(await p.locator('#prompt').textContent()).toBe('Be <b>bold</b>');
    expect(await p.locator('#response').textContent()).toBe(IMG);
    expect(await p.locator('img, b').count()).toBe(0);

    await revealed(p, 2);
    await p.locator('#minus').click(); // -1 while sample 3 is on screen
    await p.locator('#sent', { hasText: '2 presses recorded' }).waitFor();

    const rewards = await scored;
    expect(await p.evaluate(() => (window as { __pwned?: unknown }).__pwned)).toBeUndefined();
    expect(page.presses).toBe(2);

    // The server's record: when each sample was on screen and when each press arrived.
    const shown = log.records.filter((r) => r.message === 'TAMER sample shown').map((r) => r.data);
    const presses = log.records.filter((r) => r.message === 'TAMER press').map((r) => r.data);
    expect(shown.map((s) => s.id)).toEqual(['tamer-0-0', 'tamer-0-1', 'tamer-0-2']);
    for (let i = 1; i < 3; i++) expect(shown[i]!.startMs).toBeGreaterThanOrEqual(shown[i - 1]!.endMs as number);
    expect(presses.map((e) => [e.value, e.onScreen])).toEqual([[1, 'tamer-0-0'], [-1, 'tamer-0-2']]);

    // Rewards are exactly TAMER's credit of those presses to those intervals.
    const expected = shown.map((s) => presses.reduce((sum, e) => sum + (e.value as number)
      * creditWeight(e.atMs as number, { startMs: s.startMs, endMs: s.endMs } as ShownInterval, feedback.window), 0));
    expect(rewards).toHaveLength(3);
    rewards.forEach((r, i) => expect(r).toBeCloseTo(expected[i]!, 12));
    expect(rewards[0]).toBeGreaterThan(0);
    expect(rewards[1]).toBe(0); // noFeedbackReward: the +1 came too early to be about sample 2, the -1 too late
    expect(rewards[2]).toBeLessThan(0);
    expect(log.records.find((r) => r.message === 'TAMER rewards')?.data.withFeedback).toBe(2);
    await p.close();
  });

  it('refuses requests without the token and records nothing from them', async () => {
    const feedback = new TamerFeedback({ minDelayMs: 0, maxDelayMs: 1000 });
    page = await TamerPage.start({ feedback });
    feedback.shown('probe', Date.now() - 10_000); // on screen now: any recorded press would be credited to it
    const url = new URL(page.url);
    const token = url.searchParams.get('token')!;
    const api = `${url.origin}/api/feedback`;
    const plus = JSON.stringify({ value: 1 });
    expect(await post(api, plus)).toBe(403);
    expect(await post(api, plus, { 'X-Label-Token': 'f'.repeat(32) })).toBe(403);
    expect(await post(`${api}?token=${'0'.repeat(32)}`, plus)).toBe(403);
    expect(await post(`${api}?token=${token.slice(0, -1)}`, plus)).toBe(403);
    expect((await fetch(`${url.origin}/`)).status).toBe(403);
    expect((await fetch(`${url.origin}/api/stream`)).status).toBe(403);
    const auth = { 'X-Label-Token': token };
    expect(await post(api, '{"value": 1', auth)).toBe(400);
    expect(await post(api, JSON.stringify({ value: 2 }), auth)).toBe(400);
    expect(await post(api, JSON.stringify([1]), auth)).toBe(400);
    expect(await post(api, JSON.stringify({ value: 1, pad: 'x'.repeat(5000) }), auth)).toBe(413);
    expect((await fetch(api, { method: 'POST', headers: { ...auth, 'Content-Type': 'text/plain' }, body: plus })).status).toBe(415);
    expect((await fetch(api, { headers: auth })).status).toBe(405);
    expect((await fetch(`${url.origin}/elsewhere`, { headers: auth })).status).toBe(404);
    expect(feedback.feedback('probe').events).toBe(0);
    expect(page.presses).toBe(0);
    // The same press with the token is recorded: the refusals above were the token's doing.
    expect(await post(`${api}?token=${token}`, plus)).toBe(200);
    expect(feedback.feedback('probe')).toEqual({ reward: 1, credit: 1, events: 1 });
    expect(page.presses).toBe(1);
  });

  it('drops a batch nobody watches, and refuses to score once closed', async () => {
    const log = recorder();
    const feedback = new TamerFeedback({ minDelayMs: 50, maxDelayMs: 250, logger: log.logger });
    page = await TamerPage.start({ feedback, displayMs: 200, logger: log.logger });
    const reward = page.rewardFunction({ viewerTimeoutMs: 50, noFeedbackReward: -0.5 });
    const t0 = Date.now();
    expect(await reward([sample('a', 'x'), sample('b', 'y')])).toEqual([-0.5, -0.5]);
    expect(Date.now() - t0).toBeLessThan(5000); // the wait after a dropped batch is maxDelayMs + 1000, not 60 s
    expect(log.records.some((r) => r.message.includes('no page open'))).toBe(true);
    expect(log.records.find((r) => r.message.startsWith('TAMER samples never shown'))?.data.ids).toEqual(['tamer-0-0', 'tamer-0-1']);
    expect(log.records.some((r) => r.message === 'TAMER sample shown')).toBe(false);
    await page.close();
    await expect(Promise.resolve(reward([sample('c', 'z')]))).rejects.toThrow(RlhfError);
  });

  it('validates its options', async () => {
    const feedback = new TamerFeedback();
    await expect(TamerPage.start({ feedback: {} as TamerFeedback })).rejects.toThrow(ConfigError);
    await expect(TamerPage.start({ feedback, displayMs: 0 })).rejects.toThrow(/displayMs/);
    await expect(TamerPage.start({ feedback, token: 'short' })).rejects.toThrow(/token/);
    await expect(TamerPage.start({ feedback, port: 70_000 })).rejects.toThrow(/port/);
    await expect(TamerPage.start({ feedback, maxBodyBytes: 10 })).rejects.toThrow(/maxBodyBytes/);
    page = await TamerPage.start({ feedback });
    expect(() => page!.rewardFunction({ viewerTimeoutMs: -1 })).toThrow(/viewerTimeoutMs/);
    expect(() => page!.rewardFunction({ noFeedbackReward: Number.NaN })).toThrow(/noFeedbackReward/);
    expect(() => page!.rewardFunction({ timeoutMs: -5 })).toThrow(ConfigError);
  });
});
