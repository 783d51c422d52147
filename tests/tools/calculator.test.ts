import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { calculatorTool } from '../../src/tools/calculator';
import { ConfigError } from '../../src/errors';

const calc = calculatorTool();
const run = (s: string, o = {}): string => {
  const out = (Object.keys(o).length ? calculatorTool(o) : calc).run(s);
  if (typeof out !== 'string') throw new Error('calculator must answer synchronously');
  return out;
};
/** Runs and asserts it finished within `ms` (a hang guard, not a speed measurement). */
const bounded = (s: string, o = {}, ms = 2000): string => {
  const t0 = Date.now();
  const out = run(s, o);
  expect(Date.now() - t0).toBeLessThan(ms);
  return out;
};

describe('calculatorTool: exact arithmetic', () => {
  it('is a Tool with the default markers', () => {
    expect(calc.name).toBe('calculator');
    expect(calc.start).toBe('<calc>');
    expect(calc.end).toBe('</calc>');
    const t = calculatorTool({ start: '[[', end: ']]' });
    expect([t.start, t.end]).toEqual(['[[', ']]']);
  });

  it('multiplies and powers big integers exactly', () => {
    expect(run('12*34')).toBe('408');
    expect(run('4821 * 377')).toBe('1817517');
    expect(run('123456789012345678901234567890 * 987654321098765432109876543210')).toBe(
      (123456789012345678901234567890n * 987654321098765432109876543210n).toString());
    expect(run('2^100')).toBe((2n ** 100n).toString());
    expect(run('3**200')).toBe((3n ** 200n).toString());
    expect(run('(10^30 + 7) - 10^30')).toBe('7');
  });

  it('keeps decimals exact and writes a fixed number of places otherwise', () => {
    expect(run('0.1 + 0.2')).toBe('0.3');
    expect(run('1.5 * 1.5')).toBe('2.25');
    expect(run('7 / 8')).toBe('0.875');
    expect(run('1 / 3')).toBe('0.333333333333');
    expect(run('2 / 3')).toBe('0.666666666667');
    expect(run('2/3', { decimalPlaces: 3 })).toBe('0.667');
    expect(run('1/3', { decimalPlaces: 0 })).toBe('0');
    expect(run('10 / 4')).toBe('2.5');
    expect(run('1 / 1024')).toBe('0.0009765625');
    expect(run('2^-3')).toBe('0.125');
    expect(run('-1/3')).toBe('-0.333333333333');
    expect(run('.5 + 1.')).toBe('1.5');
    expect(run('1,234 + 1')).toBe('1235');
    expect(run('1.10 * 2')).toBe('2.2');
  });

  it('follows precedence, associativity and unary minus', () => {
    expect(run('2 + 3 * 4')).toBe('14');
    expect(run('(2 + 3) * 4')).toBe('20');
    expect(run('2^3^2')).toBe('512');
    expect(run('-2^2')).toBe('-4');
    expect(run('(-2)^2')).toBe('4');
    expect(run('2^-1')).toBe('0.5');
    expect(run('--3')).toBe('3');
    expect(run('-3 * -4')).toBe('12');
    expect(run('10 - 2 - 3')).toBe('5');
    expect(run('64 / 4 / 2')).toBe('8');
    expect(run('+5')).toBe('5');
    expect(run(' 1 +\n 2 ')).toBe('3');
  });

  it('returns errors for bad syntax and division by zero', () => {
    for (const s of ['1/0', '0^-1', '5 / (2 - 2)']) expect(run(s)).toBe('error: division by zero');
    for (const s of ['', '1 +', '(1', '1)', '1 2', '1..2', '2^0.5', 'abc', '*3']) expect(run(s)).toMatch(/^error: /);
    expect(run('2^0.5')).toBe('error: exponent must be an integer');
  });
});

describe('calculatorTool: hostile inputs give a short error in bounded time', () => {
  it('code is a syntax error, never evaluated', () => {
    for (const s of ['process.exit(1)', 'require("fs")', '(() => 1)()', 'constructor.constructor("return 1")()', '1; 2', 'x=1']) {
      const out = bounded(s);
      expect(out).toMatch(/^error: /);
      expect(out.length).toBeLessThan(80);
    }
  });

  it('10k-deep parentheses', () => {
    const deep = `${'('.repeat(10_000)}1${')'.repeat(10_000)}`;
    expect(bounded(deep)).toMatch(/^error: input too long/);
    expect(bounded(deep, { maxInputLength: 100_000 })).toBe('error: nesting too deep (limit 64)');
    expect(bounded(`${'-'.repeat(10_000)}1`, { maxInputLength: 100_000 })).toMatch(/^error: nesting too deep/);
    expect(bounded(`${'2^'.repeat(5_000)}2`, { maxInputLength: 100_000 })).toMatch(/^error: nesting too deep/);
    expect(run(`${'('.repeat(60)}1${')'.repeat(60)}`)).toBe('1');
  });

  it('100k-digit operands', () => {
    const big = '9'.repeat(100_000);
    expect(bounded(`${big}*${big}`)).toMatch(/^error: input too long/);
    expect(bounded(`${big}*2`, { maxInputLength: 300_000 })).toMatch(/^error: number has too many digits/);
    expect(bounded(`0.${big}`, { maxInputLength: 300_000 })).toMatch(/^error: number has too many digits/);
  });

  it('huge powers and growing products stop at the limits', () => {
    for (const s of ['9^9^9', '2^100000000', '10^(10^10)', '(-7)^-99999999']) expect(bounded(s)).toMatch(/^error: exponent too large/);
    expect(bounded('9^9999')).toMatch(/^error: result has too many digits/);
    expect(bounded('(10^999)*(10^999)')).toBe('error: result has too many digits');
    expect(bounded('1^99999999999999999999')).toMatch(/^error: exponent too large/);
    expect(run('1^10000')).toBe('1');
    expect(run('(10^999) / (10^998)')).toBe('10');
  });

  it('never throws, for any string', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60, unit: fc.constantFrom(...'0123456789+-*/^(). x'.split('')) }), (s) => {
      const out = run(s);
      expect(typeof out).toBe('string');
      expect(out.length).toBeLessThan(2100);
    }), { numRuns: 500 });
  });

  it('rejects invalid options with ConfigError', () => {
    expect(() => calculatorTool({ decimalPlaces: -1 })).toThrow(ConfigError);
    expect(() => calculatorTool({ start: '' })).toThrow(ConfigError);
    expect(() => calculatorTool({ start: 'x', end: 'x' })).toThrow(ConfigError);
    expect(() => calculatorTool({ maxDepth: 0 })).toThrow(ConfigError);
  });
});

describe('calculatorTool: agrees with BigInt arithmetic', () => {
  const int = fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n });
  const lit = (x: bigint): string => (x < 0n ? `(${x})` : `${x}`);

  it('+, - and * match BigInt', () => {
    fc.assert(fc.property(int, int, int, (a, b, c) => {
      expect(run(`${lit(a)} + ${lit(b)} * ${lit(c)}`)).toBe(`${a + b * c}`);
      expect(run(`(${lit(a)} - ${lit(b)}) * ${lit(c)}`)).toBe(`${(a - b) * c}`);
    }));
  });

  it('exact division: (a*b)/b = a, and a/b rounds like BigInt', () => {
    fc.assert(fc.property(int, int.filter((b) => b !== 0n), (a, b) => {
      expect(run(`${lit(a)} * ${lit(b)} / ${lit(b)}`)).toBe(`${a}`);
      const abs = (x: bigint): bigint => (x < 0n ? -x : x);
      const got = run(`${lit(a)} / ${lit(b)}`);
      const places = (got.split('.')[1] ?? '').length;
      if (places > 12) {
        // A quotient that terminates is printed exactly, however many places it needs: check it exactly.
        const digits = BigInt(got.replace('-', '').replace('.', ''));
        expect(digits * abs(b)).toBe(abs(a) * 10n ** BigInt(places));
        expect(got.startsWith('-')).toBe((a < 0n) !== (b < 0n) && a !== 0n);
        return;
      }
      const q = (abs(a) * 10n ** 12n * 2n + abs(b)) / (2n * abs(b)); // half up on the magnitude, 12 places
      const negative = (a < 0n) !== (b < 0n) && q !== 0n;
      const scaled = BigInt(got.replace('-', '').split('.')[0] as string) * 10n ** 12n
        + BigInt(((got.split('.')[1] ?? '') + '0'.repeat(12)).slice(0, 12));
      expect(scaled).toBe(q);
      expect(got.startsWith('-')).toBe(negative);
    }));
  });

  it('powers match BigInt', () => {
    fc.assert(fc.property(fc.bigInt({ min: -1000n, max: 1000n }), fc.integer({ min: 0, max: 60 }), (a, e) => {
      expect(run(`${lit(a)}^${e}`)).toBe(`${a ** BigInt(e)}`);
    }));
  });

  it('decimals: a.b + c.d matches scaled BigInt', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.bigInt({ min: 0n, max: 10n ** 20n }), (x, y) => {
      const dec = (v: bigint): string => `${v / 1000n}.${(v % 1000n).toString().padStart(3, '0')}`;
      const sum = x + y;
      const expected = dec(sum).replace(/0+$/, '').replace(/\.$/, '');
      expect(run(`${dec(x)} + ${dec(y)}`)).toBe(expected);
    }));
  });
});
