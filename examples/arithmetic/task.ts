// The arithmetic word problems of examples/arithmetic.ts: seeded generation, the two demonstration
// formats (with a calculator call, and answering directly), and the checks of a generated answer.
import { Rng } from 'tfjs-rlhf';

/** One word problem. */
export interface Problem {
  /** The question and a newline, e.g. `"What is 4821 * 377?\n"`. */
  prompt: string;
  /** The exact answer, e.g. `"1817517"`. */
  answer: string;
  /** The calculator input a demonstration writes, e.g. `"4821*377"`. */
  expression: string;
}

type Op = '+' | '-' | '*';

/** Question templates per operation: the plain form and a short word problem. */
const TEMPLATES: Record<Op, ((a: bigint, b: bigint) => string)[]> = {
  '+': [(a, b) => `What is ${a} + ${b}?`, (a, b) => `${a} cats and ${b} dogs. How many pets?`],
  '-': [(a, b) => `What is ${a} - ${b}?`, (a, b) => `${a} eggs, ${b} broke. How many are left?`],
  '*': [(a, b) => `What is ${a} * ${b}?`, (a, b) => `${a} bags of ${b} nuts. How many nuts?`],
};
const OPS: Op[] = ['+', '-', '*'];

/** A uniform integer with exactly `digits` digits (0-9 for one digit). */
function operand(rng: Rng, digits: number): bigint {
  const lo = digits === 1 ? 0 : 10 ** (digits - 1);
  return BigInt(lo + Math.floor(rng.next() * (10 ** digits - lo)));
}

/** A problem whose operands have between `minDigits` and `maxDigits` digits each (drawn independently). */
export function makeProblem(rng: Rng, minDigits: number, maxDigits: number): Problem {
  const digits = () => minDigits + Math.floor(rng.next() * (maxDigits - minDigits + 1));
  const op = OPS[Math.floor(rng.next() * OPS.length)] as Op;
  let a = operand(rng, digits());
  let b = operand(rng, digits());
  if (op === '-' && a < b) [a, b] = [b, a]; // "How many are left" stays non-negative
  const templates = TEMPLATES[op];
  const template = templates[Math.floor(rng.next() * templates.length)] as (a: bigint, b: bigint) => string;
  const value = op === '+' ? a + b : op === '-' ? a - b : a * b;
  return { prompt: `${template(a, b)}\n`, answer: value.toString(), expression: `${a}${op}${b}` };
}

/** `count` distinct problems, none of whose prompts is in `exclude` (the training set, for held-out sets). */
export function makeProblems(seed: number, count: number, minDigits: number, maxDigits: number, exclude: ReadonlySet<string> = new Set()): Problem[] {
  const rng = new Rng(seed);
  const seen = new Set(exclude);
  const out: Problem[] = [];
  for (let tries = 0; out.length < count && tries < count * 50; tries++) {
    const p = makeProblem(rng, minDigits, maxDigits);
    if (seen.has(p.prompt)) continue;
    seen.add(p.prompt);
    out.push(p);
  }
  return out;
}

/** What the tool-using policy writes before the calculator answers: the call. */
export const callText = (p: Problem): string => `<calc>${p.expression}</calc>`;
/** What every policy writes last: the answer line the verifiable reward reads (GSM8K's `#### n`). */
export const answerText = (p: Problem): string => `#### ${p.answer}`;

/**
 * SFT examples. With the tool, each problem gives two: question -> call, and question + call + the
 * calculator's result -> answer line; so no loss ever falls on the digits the tool writes (the
 * runtime writes them right after `</calc>`, the policy never has to). Without the tool, question ->
 * answer line. `shift` leading spaces (random, 0..shift) move the problems along the position table.
 */
export function demonstrations(problems: readonly Problem[], tool: boolean, rng: Rng, shift: number): { prompt: string; completion: string }[] {
  return problems.flatMap((p) => {
    const prompt = ' '.repeat(Math.floor(rng.next() * (shift + 1))) + p.prompt;
    if (!tool) return [{ prompt, completion: answerText(p) }];
    return [
      { prompt, completion: callText(p) },
      { prompt: `${prompt}${callText(p)}${p.answer}`, completion: `\n${answerText(p)}` },
    ];
  });
}
