import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { constantSchedule, linearSchedule, warmupCosineSchedule } from '../../src/optim/schedule';
import { ConfigError, InputError } from '../../src/errors';

const cfgArb = fc
  .record({
    peak: fc.double({ min: 1e-6, max: 1, noNaN: true }),
    warmupSteps: fc.integer({ min: 0, max: 50 }),
    extra: fc.integer({ min: 0, max: 200 }),
    minFrac: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map((r) => ({
    peak: r.peak,
    warmupSteps: r.warmupSteps,
    totalSteps: Math.max(1, r.warmupSteps + r.extra),
    minLr: r.peak * r.minFrac,
  }));

describe('schedules', () => {
  it('constantSchedule is constant', () => {
    const s = constantSchedule(3e-4);
    expect([0, 1, 1000].map(s)).toEqual([3e-4, 3e-4, 3e-4]);
    expect(() => constantSchedule(-1)).toThrow(ConfigError);
    expect(() => s(-1)).toThrow(InputError);
  });

  it('warmupCosine: warmup reaches peak, cosine ends at minLr, monotone pieces', () => {
    fc.assert(
      fc.property(cfgArb, (c) => {
        const s = warmupCosineSchedule(c);
        const W = c.warmupSteps;
        const T = c.totalSteps;
        const tol = 1e-12 * c.peak;
        if (W > 0) {
          expect(s(0)).toBeCloseTo(c.peak / W, 12);
          expect(Math.abs(s(W - 1) - c.peak)).toBeLessThanOrEqual(tol);
          for (let k = 1; k < W; k++) expect(s(k)).toBeGreaterThan(s(k - 1));
        } else {
          expect(Math.abs(s(0) - c.peak)).toBeLessThanOrEqual(tol);
        }
        expect(Math.abs(s(T) - c.minLr)).toBeLessThanOrEqual(tol);
        expect(s(T + 1)).toBe(c.minLr);
        expect(s(T + 1000)).toBe(c.minLr);
        for (let k = Math.max(W, 1); k <= T + 3; k++) expect(s(k)).toBeLessThanOrEqual(s(k - 1) + tol);
        for (let k = 0; k <= T + 3; k++) {
          expect(s(k)).toBeLessThanOrEqual(c.peak + tol);
          expect(s(k)).toBeGreaterThanOrEqual(W > 0 && k < W ? 0 : c.minLr - tol);
        }
        for (let k = 0; k < T; k++) if (c.minLr < c.peak || k < W) expect(s(k)).toBeGreaterThan(0);
      }),
      { numRuns: 200 },
    );
  });

  it('warmupCosine: exact values of a small example', () => {
    const s = warmupCosineSchedule({ peak: 1, warmupSteps: 4, totalSteps: 7 });
    expect([0, 1, 2, 3].map(s)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(s(4)).toBeCloseTo((1 + Math.cos(Math.PI / 4)) / 2, 12); // progress 1/4
    expect(s(5)).toBeCloseTo(0.5, 12); // progress 2/4: half-way
    expect(s(7)).toBeCloseTo(0, 12);
    expect(s(8)).toBe(0);
  });

  it('warmupCosine validates its options', () => {
    expect(() => warmupCosineSchedule({ peak: 0, warmupSteps: 1, totalSteps: 2 })).toThrow(ConfigError);
    expect(() => warmupCosineSchedule({ peak: 1, warmupSteps: 1.5, totalSteps: 2 })).toThrow(/warmupSteps/);
    expect(() => warmupCosineSchedule({ peak: 1, warmupSteps: 5, totalSteps: 4 })).toThrow(/totalSteps/);
    expect(() => warmupCosineSchedule({ peak: 1, warmupSteps: 0, totalSteps: 4, minLr: 2 })).toThrow(/minLr/);
    expect(() => warmupCosineSchedule({ peak: 1, warmupSteps: 0, totalSteps: 4 })(Number.NaN)).toThrow(InputError);
  });

  it('linear: endpoints, constant after, monotone', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 300 }),
        (start, end, totalSteps) => {
          const s = linearSchedule({ start, end, totalSteps });
          expect(s(0)).toBe(start);
          expect(s(totalSteps)).toBe(end);
          expect(s(totalSteps + 10)).toBe(end);
          const sign = Math.sign(end - start);
          for (let k = 1; k <= totalSteps; k++) expect(sign * (s(k) - s(k - 1))).toBeGreaterThanOrEqual(-1e-15);
        },
      ),
      { numRuns: 100 },
    );
    expect(() => linearSchedule({ start: 1, end: 0, totalSteps: 0 })).toThrow(ConfigError);
    expect(() => linearSchedule({ start: -1, end: 0, totalSteps: 3 })).toThrow(/start/);
  });
});
