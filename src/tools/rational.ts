/**
 * Exact rational arithmetic on BigInt numerator/denominator pairs, with a size bound checked after
 * every operation, for the calculator tool. Every failure throws {@link CalcError}, which the
 * calculator turns into an `error: ...` text.
 * @internal
 * @module
 */

/** A failure of the calculator: its message is shown to the model after `error: `. @internal */
export class CalcError extends Error {}

/** `n / d` in lowest terms, `d > 0`. @internal */
export interface Rational {
  readonly n: bigint;
  readonly d: bigint;
}

/** Bit length of `|x|` (0 for 0), in time linear in the size. @internal */
export function bitLength(x: bigint): number {
  if (x < 0n) x = -x;
  if (x === 0n) return 0;
  const hex = x.toString(16);
  return (hex.length - 1) * 4 + Number.parseInt(hex[0] as string, 16).toString(2).length;
}

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** Arithmetic whose results may not exceed `maxBits` bits in numerator or denominator. @internal */
export class RationalMath {
  /** @param maxBits - largest bit length allowed for a numerator or denominator. */
  constructor(private readonly maxBits: number) {}

  /** `n / d` reduced, after the size check. */
  make(n: bigint, d: bigint): Rational {
    if (d === 0n) throw new CalcError('division by zero');
    if (d < 0n) [n, d] = [-n, -d];
    const g = gcd(n, d);
    if (g > 1n) [n, d] = [n / g, d / g];
    if (bitLength(n) > this.maxBits || bitLength(d) > this.maxBits) throw new CalcError('result has too many digits');
    return { n, d };
  }

  add(a: Rational, b: Rational): Rational {
    return this.make(a.n * b.d + b.n * a.d, a.d * b.d);
  }

  sub(a: Rational, b: Rational): Rational {
    return this.make(a.n * b.d - b.n * a.d, a.d * b.d);
  }

  mul(a: Rational, b: Rational): Rational {
    return this.make(a.n * b.n, a.d * b.d);
  }

  div(a: Rational, b: Rational): Rational {
    if (b.n === 0n) throw new CalcError('division by zero');
    return this.make(a.n * b.d, a.d * b.n);
  }

  neg(a: Rational): Rational {
    return { n: -a.n, d: a.d };
  }

  /**
   * `a ^ e` for an integer exponent with `|e| <= maxExponent`; the size of the result is predicted from
   * the bit lengths before any multiplication, so a huge power fails at once instead of hanging.
   */
  pow(a: Rational, e: Rational, maxExponent: number): Rational {
    if (e.d !== 1n) throw new CalcError('exponent must be an integer');
    const abs = e.n < 0n ? -e.n : e.n;
    if (abs > BigInt(maxExponent)) throw new CalcError(`exponent too large (limit ${maxExponent})`);
    const k = Number(abs);
    if (e.n < 0n && a.n === 0n) throw new CalcError('division by zero');
    const trivial = (a.n === 0n || a.n === 1n || a.n === -1n) && a.d === 1n;
    if (!trivial && (bitLength(a.n) - 1) * k > this.maxBits) throw new CalcError('result has too many digits');
    if (!trivial && (bitLength(a.d) - 1) * k > this.maxBits) throw new CalcError('result has too many digits');
    const n = a.n ** abs;
    const d = a.d ** abs;
    return e.n < 0n ? this.make(d, n) : this.make(n, d);
  }
}

/** `true` when `d` has no prime factor other than 2 and 5 (the fraction has a finite decimal expansion). */
function terminates(d: bigint): boolean {
  while (d % 2n === 0n) d /= 2n;
  while (d % 5n === 0n) d /= 5n;
  return d === 1n;
}

/** `|n| / d` written with exactly `places` decimals, the last digit rounded half up. */
function fixed(n: bigint, d: bigint, places: number): string {
  const scale = 10n ** BigInt(places);
  const q = (n * scale * 2n + d) / (2n * d); // round half up on the magnitude
  if (places === 0) return q.toString();
  const s = q.toString().padStart(places + 1, '0');
  return `${s.slice(0, -places)}.${s.slice(-places)}`;
}

/**
 * Decimal text of `r`: an integer as is; an exact decimal when the expansion terminates (within
 * `maxPlaces` digits); otherwise rounded to `places` decimals. Trailing zeros are dropped.
 * @internal
 */
export function formatRational(r: Rational, places: number, maxPlaces: number): string {
  const sign = r.n < 0n ? '-' : '';
  const n = r.n < 0n ? -r.n : r.n;
  if (r.d === 1n) return `${sign}${n}`;
  let digits = places;
  if (terminates(r.d)) {
    let p = 0; // digits needed: the largest of the powers of 2 and 5 in d
    for (let x = r.d; x > 1n && p <= maxPlaces; p++) x = x % 10n === 0n ? x / 10n : x % 2n === 0n ? x / 2n : x / 5n;
    if (p <= maxPlaces) digits = p;
  }
  let text = fixed(n, r.d, digits);
  if (text.includes('.')) text = text.replace(/0+$/, '').replace(/\.$/, '');
  return text === '0' ? '0' : `${sign}${text}`;
}
