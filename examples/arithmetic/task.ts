// The arithmetic problems of examples/arithmetic.ts: seeded generation, the two demonstration formats
// (with a calculator call, and answering directly).
import { Rng } from 'tfjs-rlhf';

/** One problem. */
export interface Problem {
  /** The question and a newline, e.g. `"What is   4821   *  377    ?\n"` (fields of 7 characters). */
  prompt: string;
  /** The exact answer, e.g. `"1817517"`. */
  answer: string;
  /** The expression as it stands in the prompt, fields and all, e.g. `"  4821   *  377    "`: what the call copies. */
  expression: string;
}

type Op = '+' | '-' | '*';
const OPS: Op[] = ['+', '-', '*'];

/** A uniform integer with exactly `digits` digits (0-9 for one digit). */
function operand(rng: Rng, digits: number): bigint {
  const lo = digits === 1 ? 0 : 10 ** (digits - 1);
  return BigInt(lo + Math.floor(rng.next() * (10 ** digits - lo)));
}

/** `n` in a field of `width` characters, at a random place (spaces around it). */
function field(rng: Rng, n: bigint, width: number): string {
  const s = n.toString();
  const before = Math.floor(rng.next() * (width - s.length + 1));
  return ' '.repeat(before) + s + ' '.repeat(width - s.length - before);
}

/**
 * A problem whose operands have between `minDigits` and `maxDigits` digits each (drawn independently),
 * each written in a field of `width` characters at a random place: `What is   4821   *  377    ?`.
 * Every question has the same layout, so copying the expression into a call is the same
 * position-for-position copy for every problem, whatever the operands' lengths; the random place in
 * the field puts digits (and spaces) at every position of it during training.
 */
export function makeProblem(rng: Rng, minDigits: number, maxDigits: number, width: number): Problem {
  if (!(maxDigits <= width)) throw new RangeError(`maxDigits ${maxDigits} must be <= width ${width}`);
  const digits = () => minDigits + Math.floor(rng.next() * (maxDigits - minDigits + 1));
  const op = OPS[Math.floor(rng.next() * OPS.length)] as Op;
  let a = operand(rng, digits());
  let b = operand(rng, digits());
  if (op === '-' && a < b) [a, b] = [b, a]; // answers stay non-negative
  const expression = `${field(rng, a, width)} ${op} ${field(rng, b, width)}`;
  const value = op === '+' ? a + b : op === '-' ? a - b : a * b;
  return { prompt: `What is ${expression}?\n`, answer: value.toString(), expression };
}

/** `count` distinct problems, none of whose operand pairs is in `exclude` (the training set's {@link problemKey}s, for held-out sets). */
export function makeProblems(seed: number, count: number, minDigits: number, maxDigits: number, width: number, exclude: ReadonlySet<string> = new Set()): Problem[] {
  const rng = new Rng(seed);
  const seen = new Set(exclude);
  const out: Problem[] = [];
  for (let tries = 0; out.length < count && tries < count * 50; tries++) {
    const p = makeProblem(rng, minDigits, maxDigits, width);
    if (seen.has(problemKey(p))) continue;
    seen.add(problemKey(p));
    out.push(p);
  }
  return out;
}

/** The problem without its layout (`4821*377`): held-out sets exclude training problems by it. */
export const problemKey = (p: Problem): string => p.expression.replace(/ /g, '');
/** What the tool-using policy writes: the call, a verbatim copy of the expression; the calculator ignores the spaces. */
export const callText = (p: Problem): string => `<calc>${p.expression}</calc>`;

/**
 * SFT examples. With the tool, each problem gives two: question -> call, and question + call + the
 * calculator's result -> `"\n"` (the policy ends its answer right after the result, which is the
 * answer: the reward reads the last number). So no loss ever falls on the digits the tool writes
 * (the runtime writes them right after `</calc>`, the policy never has to). The second example starts
 * with 0..`endShift` random spaces, so that "end after the result" is trained as far along the
 * position table as the longer results of larger operands reach. Without the tool: question -> answer.
 */
export function demonstrations(problems: readonly Problem[], tool: boolean, rng: Rng, endShift: number): { prompt: string; completion: string }[] {
  return problems.flatMap((p) => {
    if (!tool) return [{ prompt: p.prompt, completion: p.answer }];
    const pad = ' '.repeat(Math.floor(rng.next() * (endShift + 1)));
    return [
      { prompt: p.prompt, completion: callText(p) },
      { prompt: `${pad}${p.prompt}${callText(p)}${p.answer}`, completion: '\n' },
    ];
  });
}
