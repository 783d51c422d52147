/**
 * Answer extraction for verifiable rewards: GSM8K's `#### 42` line, LaTeX `\boxed{...}`, the last
 * number in a text, and a lenient number parser (`1,234`, `$5`, `3/4`, `\frac{3}{4}`, `50%`).
 * @module
 */

/** Where {@link extractAnswer} looks for the answer. */
export type AnswerFormat = 'gsm8k' | 'boxed' | 'last-number' | 'auto';

const GSM8K = /####\s*(-?[0-9.,]+)/;
const NUMBER = /-?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:\s*\/\s*\d+)?/g;

/**
 * The answer of a GSM8K-style solution: the **first** `#### <number>` (as the reference
 * grade_school_math/dataset.py does), commas removed; `undefined` when there is none.
 * @param text - the solution or completion.
 */
export function extractGsm8kAnswer(text: string): string | undefined {
  const m = GSM8K.exec(text);
  if (m === null) return undefined;
  const s = (m[1] as string).replace(/,/g, '').replace(/\.$/, '');
  return s === '' || s === '-' || s === '.' ? undefined : s;
}

/**
 * The contents of the **last** `\boxed{...}` (or `\fbox{...}`), braces balanced; `undefined` when
 * there is none or it is unterminated.
 * @param text - the completion.
 */
export function extractBoxed(text: string): string | undefined {
  const start = Math.max(text.lastIndexOf('\\boxed{'), text.lastIndexOf('\\fbox{'));
  if (start < 0) return undefined;
  let i = text.indexOf('{', start) + 1;
  const from = i;
  for (let depth = 1; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(from, i).trim();
  }
  return undefined;
}

/**
 * The last number in the text (integers, decimals, thousands commas, `a/b` fractions), commas
 * removed; `undefined` when there is none.
 * @param text - the completion.
 */
export function extractLastNumber(text: string): string | undefined {
  const all = text.match(NUMBER);
  const last = all?.[all.length - 1];
  return last === undefined ? undefined : last.replace(/[,\s]/g, '');
}

/**
 * Extracts an answer in the given format. `'auto'` tries `\boxed{}`, then `####`, then the last number.
 * @param text - the completion.
 * @param format - where to look. Default `'auto'`.
 * @returns the answer text, or `undefined` when the format finds none.
 */
export function extractAnswer(text: string, format: AnswerFormat = 'auto'): string | undefined {
  if (format === 'gsm8k') return extractGsm8kAnswer(text);
  if (format === 'boxed') return extractBoxed(text);
  if (format === 'last-number') return extractLastNumber(text);
  return extractBoxed(text) ?? extractGsm8kAnswer(text) ?? extractLastNumber(text);
}

/**
 * Parses an answer string as an exact integer of any size (BigInt), with the same leniency as
 * {@link parseNumber} for `$`, thousands commas, spaces, a trailing `.` and a leading `+`; `undefined`
 * when it is not a plain integer (decimals, fractions, exponents, percentages).
 * @param s - the answer text.
 */
export function parseInteger(s: string): bigint | undefined {
  const t = s.trim().replace(/^\$|\$$/g, '').replace(/\\[!,;: ]/g, '').replace(/,/g, '').replace(/\s+/g, '').replace(/\.$/, '').replace(/^\+/, '');
  return /^-?\d+$/.test(t) ? BigInt(t) : undefined;
}

/**
 * Parses an answer string as a number, leniently: surrounding spaces, `$`, thousands commas, a
 * trailing `.` or `%` (kept as the number: `50%` is 50), `a/b` and `\frac{a}{b}` / `\dfrac{a}{b}`
 * fractions, a leading `+`. Returns `undefined` when it is not a number (or a division by zero).
 * @param s - the answer text.
 */
export function parseNumber(s: string): number | undefined {
  let t = s.trim().replace(/^\$|\$$/g, '').replace(/\\[!,;: ]/g, '').replace(/,/g, '').replace(/\s+/g, '');
  t = t.replace(/\\%|%$/, '').replace(/\.$/, '').replace(/^\+/, '');
  const frac = /^(-?)\\d?frac\{(-?[\d.]+)\}\{(-?[\d.]+)\}$/.exec(t) ?? /^(-?)(-?[\d.]+)\/(-?[\d.]+)$/.exec(t);
  if (frac !== null) {
    const a = Number(frac[2]);
    const b = Number(frac[3]);
    if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return undefined;
    return (frac[1] === '-' ? -1 : 1) * (a / b);
  }
  if (!/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
}
