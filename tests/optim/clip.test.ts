import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tf } from '../../src/tf';
import { expectNoLeaks } from '../helpers/leaks';
import { clipByGlobalNorm, globalNorm } from '../../src/optim/clip';
import { ConfigError } from '../../src/errors';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const f32 = fc.float({ min: -10, max: 10, noNaN: true, noDefaultInfinity: true });
const gradsArb = fc.array(fc.array(f32, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 });

function refNorm(gs: number[][]): number {
  return Math.sqrt(gs.flat().reduce((a, x) => a + x * x, 0));
}

describe('globalNorm / clipByGlobalNorm', () => {
  it('globalNorm matches a plain-number reference', () => {
    fc.assert(
      fc.property(gradsArb, (gs) => {
        const ts = gs.map((g) => tf.tensor(g, [g.length], 'float32'));
        const n = globalNorm(ts);
        const got = n.dataSync()[0]!;
        const want = refNorm(gs);
        tf.dispose([...ts, n]);
        expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-5 * Math.max(want, 1));
      }),
      { numRuns: 100 },
    );
  });

  it('globalNorm of nothing is 0, and of a 2-D tensor is its Frobenius norm', () => {
    const z = globalNorm([]);
    expect(z.dataSync()[0]).toBe(0);
    const m = tf.tensor([[3, 0], [0, 4]]);
    const n = globalNorm([m]);
    expect(n.dataSync()[0]).toBeCloseTo(5, 6);
    tf.dispose([z, m, n]);
  });

  it('clips to min(norm, maxNorm) and preserves direction', () => {
    fc.assert(
      fc.property(gradsArb, fc.double({ min: 0.01, max: 50, noNaN: true }), (gs, maxNorm) => {
        const ts = gs.map((g) => tf.tensor(g, [g.length], 'float32'));
        const r = clipByGlobalNorm(ts, maxNorm);
        const norm = refNorm(gs);
        const scale = Math.min(1, maxNorm / (norm + 1e-6));
        expect(Math.abs(r.norm.dataSync()[0]! - norm)).toBeLessThanOrEqual(1e-5 * Math.max(norm, 1));
        const out = r.grads.map((g) => Array.from(g.dataSync()));
        const outNorm = refNorm(out);
        expect(Math.abs(outNorm - Math.min(norm, maxNorm))).toBeLessThanOrEqual(1e-5 * Math.max(maxNorm, 1));
        out.forEach((g, i) =>
          g.forEach((x, j) => {
            const want = gs[i]![j]! * scale;
            expect(Math.abs(x - want)).toBeLessThanOrEqual(1e-5 * Math.max(Math.abs(want), 1e-3));
          }),
        );
        if (norm + 1e-6 <= maxNorm) out.forEach((g, i) => expect(g).toEqual(gs[i]!.map(Math.fround)));
        tf.dispose([...ts, ...r.grads, r.norm]);
      }),
      { numRuns: 100 },
    );
  });

  it('works inside tf.tidy without leaking and validates maxNorm', () => {
    const gs = [tf.ones([3, 3]), tf.ones([2])];
    expectNoLeaks(() => {
      const n = tf.tidy(() => {
        const r = clipByGlobalNorm(gs, 1);
        return globalNorm(r.grads);
      });
      expect(n.dataSync()[0]).toBeCloseTo(1, 5);
      n.dispose();
    });
    expect(() => clipByGlobalNorm(gs, 0)).toThrow(ConfigError);
    expect(() => clipByGlobalNorm(gs, Number.NaN)).toThrow(ConfigError);
    tf.dispose(gs);
  });
});
