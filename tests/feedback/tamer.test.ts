import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TamerFeedback, type TamerClock } from '../../src/feedback/tamer/tamer';
import { creditWeight } from '../../src/feedback/tamer/tamer-credit';
import type { RewardSample } from '../../src/ppo/options';
import { ConfigError, InputError } from '../../src/errors';
import type { Logger } from '../../src/logging/logger';

/** A clock whose sleep advances time and fires callbacks scheduled with `at`. */
class FakeClock implements TamerClock {
  t = 10_000;
  private timers: { at: number; fn: () => void }[] = [];
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    const until = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (next === undefined || next.at > until) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = until;
  }
  at(time: number, fn: () => void): void {
    this.timers.push({ at: time, fn });
  }
}

const W = { minDelayMs: 200, maxDelayMs: 2000 };
const samples = (n: number): RewardSample[] => Array.from({ length: n }, (_, i) => ({ prompt: 'p', response: `r${i}`, promptIds: [1], responseIds: [2] }));

describe('TAMER credit assignment', () => {
  it('credits the fraction of the uniform delay window each sample was on screen', () => {
    // event at 1500: the window [-500, 1300] is 1800 ms long
    expect(creditWeight(1500, { startMs: 0, endMs: 1000 }, W)).toBeCloseTo(1000 / 1800, 12);
    expect(creditWeight(1500, { startMs: 1000, endMs: 2000 }, W)).toBeCloseTo(300 / 1800, 12);
    expect(creditWeight(5000, { startMs: 0, endMs: 1000 }, W)).toBe(0); // too late
    expect(creditWeight(1100, { startMs: 1000, endMs: 2000 }, W)).toBe(0); // faster than anyone reacts
    expect(creditWeight(3000, { startMs: 0, endMs: 10_000 }, W)).toBeCloseTo(1, 12);
  });

  it("an event's credits over back-to-back samples sum to the covered share of its window (property)", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: -1000, max: 20_000 }),
      (durations, at) => {
        let t = 0;
        const intervals = durations.map((d) => {
          const iv = { startMs: t, endMs: t + d };
          t += d;
          return iv;
        });
        const weights = intervals.map((iv) => creditWeight(at, iv, W));
        for (const w of weights) expect(w >= 0 && w <= 1 + 1e-12).toBe(true);
        const covered = Math.max(0, Math.min(at - W.minDelayMs, t) - Math.max(at - W.maxDelayMs, 0)) / 1800;
        expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(covered, 9);
      }));
  });

  it('turns clicks into per-sample rewards, sum or mean, in any registration order', () => {
    const clock = new FakeClock();
    const sum = new TamerFeedback({ clock });
    sum.give(1, 1500); // before the samples are registered
    sum.shown('a', 0, 1000);
    sum.shown('b', 1000, 2000);
    sum.give(-1, 2500); // window [500, 2300]: 500 ms of a, 1000 ms of b
    expect(sum.feedback('a').reward).toBeCloseTo(1000 / 1800 - 500 / 1800, 12);
    expect(sum.feedback('b').reward).toBeCloseTo(300 / 1800 - 1000 / 1800, 12);
    expect(sum.feedback('b').events).toBe(2);
    expect(sum.rewards(['a', 'b', 'never'], -7)).toEqual([sum.feedback('a').reward, sum.feedback('b').reward, -7]);
    const mean = new TamerFeedback({ clock, aggregate: 'mean' });
    mean.shown('b', 1000, 2000);
    mean.give(1, 1500);
    mean.give(-1, 2500);
    expect(mean.feedback('b').reward).toBeCloseTo((300 - 1000) / 1300, 12);
    expect(mean.feedback('b').credit).toBeCloseTo(1300 / 1800, 12);
  });

  it('rewardFunction presents samples, waits for their credit windows to close on the injected clock, and forgets them', async () => {
    const clock = new FakeClock();
    const logs: string[] = [];
    const logger: Logger = { log: (level, message) => logs.push(`${level}:${message}`) };
    const tamer = new TamerFeedback({ clock, logger });
    const t0 = clock.now();
    const reward = tamer.rewardFunction({
      present: (_s, ids) => {
        clock.at(t0 + 1000, () => tamer.shown(ids[0] as string, t0, t0 + 1000));
        clock.at(t0 + 2000, () => tamer.shown(ids[1] as string, t0 + 1000, t0 + 2000));
        clock.at(t0 + 1500, () => tamer.give(1));
        clock.at(t0 + 2500, () => tamer.give(-1));
      },
    });
    const rewards = await reward(samples(2));
    expect(clock.now()).toBeGreaterThanOrEqual(t0 + 2000 + 2000); // last end + maxDelay
    expect(clock.now()).toBeLessThan(t0 + 4100);
    expect(rewards[0]).toBeCloseTo(1000 / 1800 - 500 / 1800, 12);
    expect(rewards[1]).toBeCloseTo(300 / 1800 - 1000 / 1800, 12);
    expect(tamer.feedback('tamer-0-0').credit).toBe(0); // forgotten
    expect(logs).toEqual(['info:TAMER rewards']);
    // the next round starts fresh: old clicks are not credited to new samples
    const again = await tamer.rewardFunction({
      present: (_s, ids) => tamer.shown(ids[0] as string, clock.now(), clock.now() + 500),
    })(samples(1));
    expect(again).toEqual([0]);
  });

  it('scores samples never shown or never clicked with noFeedbackReward after the timeout, and warns', async () => {
    const clock = new FakeClock();
    const logs: string[] = [];
    const tamer = new TamerFeedback({ clock, logger: { log: (level, message) => logs.push(`${level}:${message}`) } });
    const t0 = clock.now();
    const rewards = await tamer.rewardFunction({
      present: (_s, ids) => tamer.shown(ids[1] as string, t0, t0 + 100),
      timeoutMs: 5000,
      noFeedbackReward: -0.5,
    })(samples(2));
    expect(rewards).toEqual([-0.5, -0.5]);
    expect(clock.now()).toBeGreaterThanOrEqual(t0 + 5000);
    expect(logs[0]).toBe('warn:TAMER samples never shown; they score noFeedbackReward');
  });

  it('keeps an open-ended sample creditable until it is hidden, and waits for its window to close', async () => {
    const clock = new FakeClock();
    const tamer = new TamerFeedback({ clock });
    const t0 = clock.now();
    const rewards = await tamer.rewardFunction({
      present: (_s, ids) => {
        tamer.shown(ids[0] as string, t0); // on screen until the person decides
        clock.at(t0 + 20_000, () => tamer.give(2));
        clock.at(t0 + 20_100, () => tamer.hidden(ids[0] as string));
      },
      timeoutMs: 60_000,
    })(samples(1));
    expect(clock.now()).toBeGreaterThanOrEqual(t0 + 20_100 + 2000);
    expect(clock.now()).toBeLessThan(t0 + 30_000);
    expect(rewards).toEqual([2]); // the whole window [18 s, 19.8 s] fell while it was on screen
    expect(() => tamer.hidden('nope')).toThrow(/no open interval/);
  });

  it('validates options and inputs', () => {
    expect(() => new TamerFeedback({ minDelayMs: -1 })).toThrow(ConfigError);
    expect(() => new TamerFeedback({ minDelayMs: 500, maxDelayMs: 500 })).toThrow(/maxDelayMs/);
    expect(() => new TamerFeedback({ aggregate: 'max' as never })).toThrow(/aggregate/);
    const t = new TamerFeedback();
    expect(() => t.give(Number.NaN)).toThrow(InputError);
    expect(() => t.shown('a', 10, 5)).toThrow(/endMs/);
    expect(() => t.shown('', 0, 1)).toThrow(/sampleId/);
    expect(() => t.rewardFunction({} as never)).toThrow(/present/);
  });
});
