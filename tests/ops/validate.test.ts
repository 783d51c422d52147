import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors';
import { checkInteger, checkNumber, checkOneOf, checkSeed, checkTokenIds } from '../../src/ops/validate';

const anyValue = fc.oneof(fc.double(), fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.integer()));

describe('ops/validate: the one home of option checks', () => {
  it('checkNumber accepts exactly the finite numbers inside the bounds, else a ConfigError naming the option', () => {
    const bound = fc.option(fc.double({ min: -10, max: 10, noNaN: true }), { nil: undefined });
    fc.assert(fc.property(anyValue, bound, bound, bound, bound, (v, gt, ge, lt, le) => {
      const b = { gt, ge, lt, le };
      const inside = typeof v === 'number' && Number.isFinite(v)
        && (gt === undefined || v > gt) && (ge === undefined || v >= ge) && (lt === undefined || v < lt) && (le === undefined || v <= le);
      if (inside) expect(checkNumber('x.y', v, b)).toBe(v);
      else {
        expect(() => checkNumber('x.y', v, b)).toThrow(ConfigError);
        expect(() => checkNumber('x.y', v, b)).toThrow(/^x\.y = .*: must be a finite number/);
      }
    }));
  });

  it('checkInteger, checkSeed: safe integers only (NaN, 1.5, "1", 2^60 rejected)', () => {
    fc.assert(fc.property(anyValue, fc.integer({ min: -5, max: 5 }), (v, min) => {
      const ok = typeof v === 'number' && Number.isSafeInteger(v);
      if (ok && v >= min) expect(checkInteger('n', v, min)).toBe(v);
      else expect(() => checkInteger('n', v, min)).toThrow(ConfigError);
      if (ok) expect(checkSeed('seed', v)).toBe(v);
      else expect(() => checkSeed('seed', v)).toThrow(/^seed = .*: must be a safe integer/);
    }));
    expect(() => checkInteger('n', 6, 0, 5)).toThrow(/must be an integer in \[0, 5\]/);
    expect(() => checkSeed('seed', 2 ** 60)).toThrow(ConfigError);
  });

  it('checkOneOf and checkTokenIds name the option, or the offending entry', () => {
    expect(checkOneOf('k', 'b', ['a', 'b'] as const)).toBe('b');
    expect(() => checkOneOf('k', 'c', ['a', 'b', 'c2'] as const)).toThrow("k = \"c\": must be 'a', 'b' or 'c2'");
    expect(checkTokenIds('stop', [0, 9], 10)).toEqual([0, 9]);
    expect(() => checkTokenIds('stop', 5, 10)).toThrow('stop = 5: must be an array of token ids');
    expect(() => checkTokenIds('stop', [1, 10], 10)).toThrow('stop[1] = 10: must be a token id in [0, 10)');
    expect(() => checkTokenIds('stop', [NaN], 10)).toThrow(/^stop\[0\] = NaN/);
  });
});
