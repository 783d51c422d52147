/**
 * Typed errors. Every error names what was wrong: the parameter and its value, or the file and line.
 * Catch {@link RlhfError} to catch them all.
 * @module
 */

/** Base class of every error thrown by tfjs-rlhf. */
export class RlhfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

type PreviewFrame = { text: string } | { value: unknown } | { list: ArrayLike<unknown>; i: number } | { obj: object; keys: string[]; i: number };

/** One value's own rendering, or a frame to expand (containers); never recursive. */
function previewStep(v: unknown, room: number): PreviewFrame {
  if (typeof v === 'string') return { text: JSON.stringify(v.length > room ? v.slice(0, room) : v) };
  if (typeof v === 'bigint') return { text: `${v}n` };
  if (typeof v === 'symbol') return { text: 'Symbol()' };
  if (typeof v === 'function') return { text: '[function]' };
  if (typeof v !== 'object' || v === null) return { text: String(v) };
  if (Array.isArray(v) || ArrayBuffer.isView(v)) {
    const list = v as unknown as ArrayLike<unknown>;
    return typeof list.length === 'number' ? { list, i: 0 } : { text: '[view]' };
  }
  if (v instanceof Date) return { text: Number.isNaN(v.getTime()) ? 'Invalid Date' : JSON.stringify(v.toISOString()) };
  if (v instanceof Map || v instanceof Set) return { text: `${v instanceof Map ? 'Map' : 'Set'}(${v.size})` };
  const keys: string[] = [];
  for (const k in v) {
    if (keys.length > room) break;
    if (Object.prototype.hasOwnProperty.call(v, k)) keys.push(k);
  }
  return { obj: v, keys, i: 0 };
}

/**
 * A short, JSON-like rendering of any value for error messages: at most `maxChars` characters
 * (longer output is cut and ends in `...`). It walks containers with an explicit stack and stops as
 * soon as the budget is spent, so a 100 000-deep nested array, a huge string, a cyclic object or a
 * throwing getter all give a short preview, never a stack overflow or a long message.
 * @param value - Anything, typically client input.
 * @param maxChars - Longest result (at least 8). Default `80`.
 * @returns E.g. `"abc"`, `42`, `[1,[2,[3]]]`, `{"a":1}`, `[[[[[[[[[[[[[[[...`.
 */
export function previewValue(value: unknown, maxChars = 80): string {
  const max = Math.max(8, Math.floor(maxChars));
  let out = '';
  const stack: PreviewFrame[] = [{ value }];
  try {
    while (stack.length > 0 && out.length <= max) {
      const top = stack.pop() as PreviewFrame;
      if ('text' in top) out += top.text;
      else if ('value' in top) stack.push(previewStep(top.value, max - out.length + 1));
      else if ('list' in top) {
        if (top.i === 0) out += '[';
        if (top.i >= top.list.length) { out += ']'; continue; }
        if (top.i > 0) out += ',';
        stack.push({ list: top.list, i: top.i + 1 }, { value: top.list[top.i] });
      } else {
        if (top.i === 0) out += '{';
        const key = top.keys[top.i];
        if (key === undefined) { out += '}'; continue; }
        if (top.i > 0) out += ',';
        out += `${JSON.stringify(key.length > max ? key.slice(0, max) : key)}:`;
        stack.push({ obj: top.obj, keys: top.keys, i: top.i + 1 }, { value: (top.obj as Record<string, unknown>)[key] });
      }
    }
  } catch {
    out += '<unreadable>'; // a throwing getter or proxy trap
  }
  return out.length > max ? `${out.slice(0, max - 3)}...` : out;
}

function show(value: unknown): string {
  return previewValue(value);
}

/** A configuration or option value is invalid. `param` names it, `value` is what was given. */
export class ConfigError extends RlhfError {
  constructor(
    /** Name of the offending option, e.g. `"nHead"` or `"TransformerConfig.nHead"`. */
    readonly param: string,
    /** The value that was given. */
    readonly value: unknown,
    /** What is required of it. */
    readonly reason: string,
  ) {
    super(`${param} = ${show(value)}: ${reason}`);
  }
}

/** An input to a method (token ids, prompts, tensors) is invalid. */
export class InputError extends RlhfError {
  constructor(
    /** Name of the offending argument, e.g. `"prompts[3][7]"`. */
    readonly param: string,
    /** The value that was given. */
    readonly value: unknown,
    /** What is required of it. */
    readonly reason: string,
  ) {
    super(`${param} = ${show(value)}: ${reason}`);
  }
}

/** A file (checkpoint, dataset) is malformed. `file` and, where it applies, `line` locate the problem. */
export class FileFormatError extends RlhfError {
  constructor(
    /** Path or description of the file, e.g. `"ckpt/model.safetensors"` or `"<bytes>"`. */
    readonly file: string,
    /** What is wrong. */
    readonly reason: string,
    /** 1-based line number for line-oriented files. */
    readonly line?: number,
  ) {
    super(`${line === undefined ? file : `${file}:${line}`}: ${reason}`);
  }
}

/** A backend could not be set up (not installed, failed to initialise). */
export class BackendError extends RlhfError {
  constructor(
    /** The backend name that was requested. */
    readonly backend: string,
    /** Why it is unavailable. */
    readonly reason: string,
  ) {
    super(`backend ${JSON.stringify(backend)}: ${reason}`);
  }
}

/** Training produced a non-finite value (NaN or Infinity); the update was not applied. */
export class NonFiniteError extends RlhfError {
  constructor(
    /** What was non-finite, e.g. `"loss"` or `"gradient norm"`. */
    readonly quantity: string,
    /** The value observed. */
    readonly value: number,
    /** Where, e.g. `"LMTrainer step 12"`. */
    readonly where: string,
  ) {
    super(`${where}: ${quantity} is ${value}; this update was not applied (earlier updates stand)`);
  }
}

/** Why a worker thread of a data-parallel trainer failed: see {@link WorkerError}. */
export type WorkerFailure = 'error' | 'exit' | 'drift' | 'timeout';

/**
 * A worker thread of a data-parallel trainer failed: it threw (`'error'`, with its stack), died
 * (`'exit'`), did not start in time (`'timeout'`), or its weights no longer match the main thread's
 * (`'drift'`, found by the `checkReplicas` debug option). The step it happened in was not applied anywhere; the worker pool is shut down and a
 * later step starts a fresh one from the main thread's weights.
 */
export class WorkerError extends RlhfError {
  constructor(
    /** 1-based index of the worker (the main thread is replica 0). */
    readonly worker: number,
    /** What went wrong. */
    readonly failure: WorkerFailure,
    /** The worker's message (and, for `'error'`, its original error name). */
    readonly detail: string,
    /** The stack of the error inside the worker, when it threw. */
    readonly workerStack?: string,
  ) {
    const what = { error: 'threw', exit: 'died', drift: 'drifted', timeout: 'timed out' }[failure];
    super(`worker ${worker} ${what}: ${detail.length > 500 ? `${detail.slice(0, 497)}...` : detail}`);
    if (workerStack !== undefined) this.stack = `${this.name}: ${this.message}\n--- in the worker ---\n${workerStack}`;
  }
}

/**
 * A Hugging Face Hub request failed (no such repo or file, no access, network down with nothing
 * cached, a download that did not match its checksum), or offline mode was asked for a file not cached.
 */
export class HubError extends RlhfError {
  constructor(
    /** The repo id, e.g. `"openai-community/gpt2"`. */
    readonly repo: string,
    /** The file inside the repo. */
    readonly file: string,
    /** What went wrong (the HTTP status and the Hub's error code where there is one). */
    readonly reason: string,
    /** The HTTP status, when a response came. */
    readonly status?: number,
  ) {
    super(`${repo}/${file}: ${reason}`);
  }
}
