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

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return Object.prototype.toString.call(value);
  }
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
