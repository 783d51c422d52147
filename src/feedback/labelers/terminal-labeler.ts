/**
 * `TerminalLabeler`: a {@link Labeler} that asks on a terminal (or any pair of streams). It prints the
 * prompt (or the conversation so far, each turn under its role) and the numbered responses, with
 * control characters escaped so model text cannot move the cursor, clear the screen or retitle the
 * window, and reads one answer line:
 *
 * - `2 1 3` or `2>1>3`: response 2 best, then 1, then 3. `2>1=3`: 1 and 3 tie. Every response once.
 * - `!` after a number flags that response (`2 1 3!`); `# text` at the end adds a note.
 * - `s` or `skip [reason]` skips the item.
 *
 * Invalid answers are explained and asked again. When the item names criteria, one line of ratings
 * (1-7 per response) is then asked per criterion; an empty line leaves that criterion out.
 * `node:readline` is imported lazily (Node.js only). Works with piped input as well as a TTY.
 * @module
 */
import { ConfigError, RlhfError } from '../../errors';
import type { Judgement, Labeler, LabelRequest, RankedJudgement } from '../types';
import { checkCriteria, checkRequest, RATING_MAX, RATING_MIN } from '../check-judgement';

/** Options of {@link TerminalLabeler}. */
export interface TerminalLabelerOptions {
  /** Where answers are read. Default `process.stdin`. */
  input?: NodeJS.ReadableStream;
  /** Where items and questions are written. Default `process.stderr` (stdout stays free for data). */
  output?: NodeJS.WritableStream;
  /** Criteria to rate when a request names none. Default: none. */
  criteria?: string[];
  /** Name recorded with each judgement. Default `'terminal'`. */
  name?: string;
}

/** Control (`Cc`) and format (`Cf`) characters, the line/paragraph separators and lone surrogates. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029]/gu;

/**
 * Makes text safe to print on a terminal: every control character (C0, C1, ESC, DEL, carriage
 * return) and every format character (zero-width characters, bidirectional marks, overrides and
 * isolates such as U+202E and U+061C, U+180E, U+FFF9-FFFB, the tag characters U+E0000-E007F ...),
 * U+2028/U+2029 and lone surrogates become visible escapes: `\x1b` below U+0100, `\u202e` in the
 * basic plane, `\u{e0041}` above it. Newlines and tabs are kept.
 * @param text - Untrusted text (model output, prompts).
 * @returns The escaped text.
 */
export function escapeForTerminal(text: string): string {
  return text.replace(INVISIBLE, (c) => {
    if (c === '\n' || c === '\t') return c;
    const code = c.codePointAt(0) as number;
    if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
    return code <= 0xffff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** A parsed answer line: a judgement, or why the line is invalid. */
export type ParsedAnswer =
  | {
    /** The judgement the line expresses. */
    judgement: Judgement;
  }
  | {
    /** Why the line was not understood, to show before asking again. */
    error: string;
  };

/**
 * Parses an answer line for an item with `k` responses (see the module notes for the syntax).
 * @param line - What the person typed.
 * @param k - Number of responses.
 * @returns The judgement, or a reason to ask again.
 */
export function parseAnswer(line: string, k: number): ParsedAnswer {
  const text = line.trim();
  const skip = /^(?:s|skip)(?:\s+(.*))?$/i.exec(text);
  if (skip !== null) return { judgement: skip[1] ? { kind: 'skipped', reason: skip[1].trim() } : { kind: 'skipped' } };
  const hash = text.indexOf('#');
  const note = hash >= 0 ? text.slice(hash + 1).trim() : '';
  const order = (hash >= 0 ? text.slice(0, hash) : text).replace(/[\s,]+/g, ' ').replace(/ ?([>=]) ?/g, '$1').trim();
  if (order === '') return { error: `type the ${k} response numbers best first, e.g. "${Array.from({ length: k }, (_, i) => k - i).join(' ')}", or "s" to skip` };
  if (!/^\d+!?(?:[\s>=]\d+!?)*$/.test(order)) return { error: `cannot read "${order}": use numbers 1-${k} separated by spaces, ">" or "=" (ties)` };
  const ranking = new Array<number>(k).fill(-1);
  const flagged: number[] = [];
  const re = /(^|[\s>=])(\d+)(!?)/g;
  let pos = 0;
  let prev = -1;
  for (let m = re.exec(order); m !== null; m = re.exec(order), pos++) {
    const n = Number(m[2]);
    if (n < 1 || n > k) return { error: `there is no response ${n}; the responses are 1-${k}` };
    if (ranking[n - 1] !== -1) return { error: `response ${n} is listed twice` };
    ranking[n - 1] = m[1] === '=' ? (prev as number) : pos;
    prev = ranking[n - 1] as number;
    if (m[3] === '!') flagged.push(n - 1);
  }
  const missing = ranking.flatMap((r, i) => (r === -1 ? [i + 1] : []));
  if (missing.length > 0) return { error: `every response needs a place; missing: ${missing.join(', ')}` };
  if (ranking.every((r) => r === 0)) return { error: 'everything is tied; type "s" to skip instead' };
  const judgement: RankedJudgement = { kind: 'ranked', ranking };
  if (flagged.length > 0) judgement.flagged = flagged.sort((a, b) => a - b);
  if (note !== '') judgement.note = note;
  return { judgement };
}

/** Parses a ratings line: `k` integers 1-7 (empty: none). */
function parseRatings(line: string, k: number): { values?: number[] } | { error: string } {
  const parts = line.trim().split(/[\s,]+/).filter((p) => p !== '');
  if (parts.length === 0) return {};
  const values = parts.map(Number);
  if (values.length !== k || !values.every((v) => Number.isInteger(v) && v >= RATING_MIN && v <= RATING_MAX)) {
    return { error: `give ${k} whole numbers from ${RATING_MIN} to ${RATING_MAX}, one per response in response order, or leave the line empty` };
  }
  return { values };
}

type LineReader = AsyncIterator<string>;

/** A labeller that asks on a terminal; see the module notes for the answer syntax. */
export class TerminalLabeler implements Labeler {
  /** Recorded with each judgement (option `name`, default `'terminal'`). */
  readonly name: string;
  private readonly input: NodeJS.ReadableStream;
  private readonly output: NodeJS.WritableStream;
  private readonly criteria: string[];
  private reader: { close(): void; lines: LineReader } | undefined;
  private pendingLine: Promise<IteratorResult<string>> | undefined;

  /**
   * @param options - See {@link TerminalLabelerOptions}; validated here.
   * @throws A {@link ConfigError} naming the invalid option.
   */
  constructor(options: TerminalLabelerOptions = {}) {
    checkCriteria(options.criteria, 'criteria', true);
    this.criteria = [...(options.criteria ?? [])];
    this.name = options.name ?? 'terminal';
    if (typeof this.name !== 'string' || this.name === '') throw new ConfigError('name', options.name, 'must be a non-empty string');
    const p = (globalThis as { process?: { stdin: NodeJS.ReadableStream; stderr: NodeJS.WritableStream } }).process;
    const input = options.input ?? p?.stdin;
    const output = options.output ?? p?.stderr;
    if (typeof input?.on !== 'function') throw new ConfigError('input', input, 'must be a readable stream');
    if (typeof output?.write !== 'function') throw new ConfigError('output', output, 'must be a writable stream');
    this.input = input;
    this.output = output;
  }

  /**
   * Shows the item and reads answers until one is valid.
   * @param request - The item; its criteria default to this labeller's `criteria` option.
   * @param signal - Stops waiting for input; rejects with the signal's reason.
   * @returns The judgement.
   * @throws An `InputError` for an invalid request; an {@link RlhfError} when the input ends first.
   */
  async label(request: LabelRequest, signal?: AbortSignal): Promise<Judgement> {
    checkRequest(request);
    const k = request.responses.length;
    this.write(this.render(request));
    let judgement: Judgement | undefined;
    while (judgement === undefined) {
      const parsed = parseAnswer(await this.ask('> ', signal), k);
      if ('error' in parsed) this.write(`  ${parsed.error}\n`);
      else judgement = parsed.judgement;
    }
    if (judgement.kind === 'ranked') {
      for (const criterion of request.criteria ?? this.criteria) {
        const values = await this.askRatings(criterion, k, signal);
        if (values !== undefined) judgement.ratings = { ...judgement.ratings, [criterion]: values };
      }
    }
    this.write(judgement.kind === 'skipped' ? 'Skipped.\n\n' : 'Saved.\n\n');
    return judgement;
  }

  /** Releases the input (the stream itself is left open). */
  async close(): Promise<void> {
    this.reader?.close();
    this.reader = undefined;
  }

  private render(request: LabelRequest): string {
    const indent = (s: string): string => escapeForTerminal(s).split('\n').map((l) => `    ${l}`).join('\n');
    const k = request.responses.length;
    const parts = [`──── item ${escapeForTerminal(request.id)}: ${k} responses ────`];
    if (request.messages !== undefined) {
      parts.push(`Conversation (${request.messages.length} turns; the responses are the assistant's next turn):`);
      for (const m of request.messages) parts.push(`  ${escapeForTerminal(m.role).toUpperCase()}:`, indent(m.content));
      parts.push('Responses:');
    } else {
      parts.push('Prompt:', indent(request.prompt));
    }
    request.responses.forEach((r, i) => parts.push(`[${i + 1}]`, indent(r)));
    parts.push(`Order best first ("2 1 3", or "2>1=3" for a tie); "!" after a number flags it; "# note" comments; "s" skips.`);
    return `${parts.join('\n')}\n`;
  }

  private async askRatings(criterion: string, k: number, signal: AbortSignal | undefined): Promise<number[] | undefined> {
    for (;;) {
      const parsed = parseRatings(await this.ask(`${escapeForTerminal(criterion)} (${RATING_MIN}-${RATING_MAX} for each of the ${k} responses, Enter for none)> `, signal), k);
      if (!('error' in parsed)) return parsed.values;
      this.write(`  ${parsed.error}\n`);
    }
  }

  private write(text: string): void {
    this.output.write(text);
  }

  /** Writes `question` and resolves with the next input line. */
  private async ask(question: string, signal: AbortSignal | undefined): Promise<string> {
    signal?.throwIfAborted();
    this.write(question);
    if (this.reader === undefined) {
      const readline = await import('node:readline');
      const rl = readline.createInterface({ input: this.input, terminal: false, crlfDelay: Infinity });
      this.reader = { close: () => rl.close(), lines: rl[Symbol.asyncIterator]() };
    }
    // A read that an abort left pending is reused, so its line is not lost.
    const next = this.pendingLine ?? this.reader.lines.next();
    this.pendingLine = next;
    const result = await (signal === undefined ? next : Promise.race([next, aborted(signal)]));
    this.pendingLine = undefined;
    if (result.done === true) throw new RlhfError('the input ended before the item was judged');
    return result.value;
  }
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
