/**
 * `calculatorTool`: exact arithmetic for a policy to call (`<calc>4821*377</calc>` -> `1817517`).
 * Integers of any size (BigInt) and decimals are kept as exact fractions; `+ - * / ^ ( )` (also `**`
 * for power) and unary minus/plus; `^` binds tighter than unary minus (`-2^2 = -4`) and is right
 * associative (`2^3^2 = 512`). A hand-written recursive-descent parser (never `eval`) with the input
 * length, literal size, result size, exponent and nesting depth all bounded, so any input returns a
 * short `error: ...` text in bounded time instead of throwing or hanging.
 * @module
 */
import { ConfigError } from '../errors';
import { checkInteger } from '../ops/validate';
import { CalcError, RationalMath, formatRational, type Rational } from './rational';
import type { Tool } from './tool';

/** Options of {@link calculatorTool}. */
export interface CalculatorOptions {
  /** Marker that opens a call. Default `"<calc>"`. */
  start?: string;
  /** Marker that closes a call. Default `"</calc>"`. */
  end?: string;
  /** Decimals written when a result has no finite decimal expansion (e.g. `1/3`), rounded half up; integer in [0, 1000]. Default `12`. */
  decimalPlaces?: number;
  /** Longest input in characters; integer >= 1. Default `1000`. */
  maxInputLength?: number;
  /** Most decimal digits of any number, literal or intermediate (numerator and denominator each); integer >= 1. Default `1000`. */
  maxDigits?: number;
  /** Largest absolute value of an exponent; integer >= 1. Default `10000`. */
  maxExponent?: number;
  /** Deepest nesting of parentheses, unary signs and powers; integer in [1, 1000]. Default `64`. */
  maxDepth?: number;
}

/** {@link CalculatorOptions} with defaults filled in. */
interface ResolvedCalculatorOptions {
  start: string;
  end: string;
  decimalPlaces: number;
  maxInputLength: number;
  maxDigits: number;
  maxExponent: number;
  maxDepth: number;
}

function resolveCalculatorOptions(o: CalculatorOptions): ResolvedCalculatorOptions {
  if (typeof o !== 'object' || o === null) throw new ConfigError('CalculatorOptions', o, 'must be an object');
  const marker = (k: 'start' | 'end', dflt: string): string => {
    const v = o[k] ?? dflt;
    if (typeof v !== 'string' || v === '') throw new ConfigError(`CalculatorOptions.${k}`, v, 'must be a non-empty string');
    return v;
  };
  const r = {
    start: marker('start', '<calc>'),
    end: marker('end', '</calc>'),
    decimalPlaces: checkInteger('CalculatorOptions.decimalPlaces', o.decimalPlaces ?? 12, 0, 1000),
    maxInputLength: checkInteger('CalculatorOptions.maxInputLength', o.maxInputLength ?? 1000, 1),
    maxDigits: checkInteger('CalculatorOptions.maxDigits', o.maxDigits ?? 1000, 1, 1_000_000),
    maxExponent: checkInteger('CalculatorOptions.maxExponent', o.maxExponent ?? 10000, 1, 1_000_000),
    maxDepth: checkInteger('CalculatorOptions.maxDepth', o.maxDepth ?? 64, 1, 1000),
  };
  if (r.start === r.end) throw new ConfigError('CalculatorOptions.end', r.end, 'must differ from start');
  return r;
}

/** Recursive descent over one expression; depth-checked so deep nesting fails before the stack does. */
class Parser {
  private i = 0;
  private depth = 0;

  constructor(
    private readonly s: string,
    private readonly math: RationalMath,
    private readonly o: ResolvedCalculatorOptions,
  ) {}

  parse(): Rational {
    const v = this.expr();
    this.skip();
    if (this.i < this.s.length) throw this.unexpected();
    return v;
  }

  private skip(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i] as string)) this.i++;
  }

  private peek(): string {
    this.skip();
    return this.s[this.i] ?? '';
  }

  private unexpected(): CalcError {
    const c = this.s[this.i];
    return new CalcError(c === undefined ? 'unexpected end of expression' : `unexpected character ${JSON.stringify(c)} at ${this.i + 1}`);
  }

  private enter(): void {
    if (++this.depth > this.o.maxDepth) throw new CalcError(`nesting too deep (limit ${this.o.maxDepth})`);
  }

  // expr = term (('+' | '-') term)*
  private expr(): Rational {
    let v = this.term();
    for (let c = this.peek(); c === '+' || c === '-'; c = this.peek()) {
      this.i++;
      const r = this.term();
      v = c === '+' ? this.math.add(v, r) : this.math.sub(v, r);
    }
    return v;
  }

  // term = unary (('*' | '/') unary)*
  private term(): Rational {
    let v = this.unary();
    for (let c = this.peek(); (c === '*' && this.s[this.i + 1] !== '*') || c === '/'; c = this.peek()) {
      this.i++;
      const r = this.unary();
      v = c === '*' ? this.math.mul(v, r) : this.math.div(v, r);
    }
    return v;
  }

  // unary = ('-' | '+') unary | power
  private unary(): Rational {
    const c = this.peek();
    if (c !== '-' && c !== '+') return this.power();
    this.i++;
    this.enter();
    const v = this.unary();
    this.depth--;
    return c === '-' ? this.math.neg(v) : v;
  }

  // power = primary (('^' | '**') unary)?   (right associative; the exponent may carry a sign)
  private power(): Rational {
    const base = this.primary();
    const c = this.peek();
    if (c !== '^' && !(c === '*' && this.s[this.i + 1] === '*')) return base;
    this.i += c === '^' ? 1 : 2;
    this.enter();
    const e = this.unary();
    this.depth--;
    return this.math.pow(base, e, this.o.maxExponent);
  }

  // primary = number | '(' expr ')'
  private primary(): Rational {
    const c = this.peek();
    if (c === '(') {
      this.i++;
      this.enter();
      const v = this.expr();
      if (this.peek() !== ')') throw this.i < this.s.length ? this.unexpected() : new CalcError('missing )');
      this.i++;
      this.depth--;
      return v;
    }
    return this.number();
  }

  private number(): Rational {
    const m = /^(\d*)(?:\.(\d*))?/.exec(this.s.slice(this.i, this.i + this.o.maxDigits + 2));
    const whole = m?.[1] ?? '';
    const frac = m?.[2] ?? '';
    if (whole === '' && frac === '') throw this.unexpected();
    const after = this.s[this.i + (m as RegExpExecArray)[0].length] ?? '';
    if (whole.length + frac.length > this.o.maxDigits || /\d/.test(after)) {
      throw new CalcError(`number has too many digits (limit ${this.o.maxDigits})`);
    }
    this.i += (m as RegExpExecArray)[0].length;
    if (after === '.') throw this.unexpected();
    return this.math.make(BigInt(whole + frac || '0'), 10n ** BigInt(frac.length));
  }
}

/**
 * Evaluates one arithmetic expression exactly and returns its decimal text, or `error: ...` (never
 * throws). See {@link calculatorTool} for the syntax and limits.
 * @internal
 */
export function evaluateExpression(input: string, o: ResolvedCalculatorOptions): string {
  if (typeof input !== 'string') return 'error: input must be text';
  if (input.length > o.maxInputLength) return `error: input too long (limit ${o.maxInputLength} characters)`;
  const maxBits = Math.ceil(o.maxDigits * Math.log2(10)) + 1;
  try {
    const value = new Parser(input.replace(/,(?=\d{3})/g, ''), new RationalMath(maxBits), o).parse();
    return formatRational(value, o.decimalPlaces, o.maxDigits);
  } catch (e) {
    if (e instanceof CalcError) return `error: ${e.message}`;
    return 'error: expression too complex'; // RangeError from BigInt on a pathological size: never leak it
  }
}

/**
 * A calculator {@link Tool} (name `"calculator"`, markers `<calc>` and `</calc>` by default):
 * exact arithmetic on integers of any size and decimals with `+ - * / ^ ( )`, `**` and unary minus.
 * Division is exact: the result is written as an exact decimal when it terminates, else rounded to
 * `decimalPlaces`. Thousands separators (`1,000`) are accepted. Every failure (syntax, division by
 * zero, a limit) comes back as a short `error: ...` text, never a throw; every input finishes in time
 * bounded by the limits in {@link CalculatorOptions}.
 * @throws {@link ConfigError} for an invalid option.
 */
export function calculatorTool(options: CalculatorOptions = {}): Tool {
  const o = resolveCalculatorOptions(options);
  return { name: 'calculator', start: o.start, end: o.end, run: (input: string) => evaluateExpression(input, o) };
}
