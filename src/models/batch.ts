/**
 * Turning ragged token rows into padded batches: left padding, masks, position ids
 * (`cumsum(mask) - mask`) and the additive attention bias (causal + key padding).
 * @module
 */
import { InputError } from '../errors';

/** A padded batch of token rows as flat row-major arrays. */
export interface PaddedBatch {
  /** Token ids `[B * T]` (pad positions hold `padId`). */
  ids: Int32Array;
  /** 1 on real tokens, 0 on padding, `[B * T]`. */
  mask: Int32Array;
  /** Rows. */
  batch: number;
  /** Columns. */
  length: number;
}

/** Validates token rows: non-empty list, non-empty rows, integer ids in `[0, vocabSize)`. */
export function checkTokenRows(rows: readonly (readonly number[])[], vocabSize: number, param: string, allowEmptyRow = false): void {
  if (!Array.isArray(rows) || rows.length === 0) throw new InputError(param, rows, 'must be a non-empty array of token rows');
  rows.forEach((row, b) => {
    if (!Array.isArray(row)) throw new InputError(`${param}[${b}]`, row, 'must be an array of token ids');
    if (row.length === 0 && !allowEmptyRow) throw new InputError(`${param}[${b}]`, row, 'must not be empty');
    row.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new InputError(`${param}[${b}][${t}]`, id, `must be an integer token id in [0, ${vocabSize})`);
      }
    });
  });
}

/**
 * Validates (prompt, response) token rows for scoring: ids in the vocabulary, non-empty prompts,
 * equal counts, and each prompt + response within `contextLength`. Errors name `names[0]` / `names[1]`.
 */
export function checkPromptResponseRows(
  prompts: readonly (readonly number[])[],
  responses: readonly (readonly number[])[],
  vocabSize: number,
  contextLength: number,
  names: [string, string] = ['prompts', 'responses'],
): void {
  const [pn, rn] = names;
  checkTokenRows(prompts, vocabSize, pn);
  checkTokenRows(responses, vocabSize, rn, true);
  if (responses.length !== prompts.length) throw new InputError(`${rn}.length`, responses.length, `must equal ${pn}.length = ${prompts.length}`);
  prompts.forEach((p, b) => {
    const n = p.length + (responses[b]?.length ?? 0);
    if (n > contextLength) throw new InputError(`${pn}[${b}].length + ${rn}[${b}].length`, n, `exceeds contextLength = ${contextLength}`);
  });
}

/** Left-pads rows to the longest one (or `length`): `[pad..., tokens...]`. */
export function leftPad(rows: readonly (readonly number[])[], padId: number, length?: number): PaddedBatch {
  const T = length ?? Math.max(...rows.map((r) => r.length));
  const B = rows.length;
  const ids = new Int32Array(B * T).fill(padId);
  const mask = new Int32Array(B * T);
  rows.forEach((row, b) => {
    if (row.length > T) throw new InputError(`rows[${b}]`, row.length, `is longer than the batch length ${T}`);
    const off = b * T + (T - row.length);
    for (let t = 0; t < row.length; t++) {
      ids[off + t] = row[t] as number;
      mask[off + t] = 1;
    }
  });
  return { ids, mask, batch: B, length: T };
}

/** A batch of `[pad.., prompt.., response.., pad..]` rows. */
export interface PromptResponseBatch extends PaddedBatch {
  /** Column where responses start (the longest prompt's length). */
  responseStart: number;
  /** Longest response length; columns `responseStart .. responseStart + responseLength - 1`. */
  responseLength: number;
}

/**
 * Concatenates left-padded prompts with right-padded responses: `[pad.., prompt.., response.., pad..]`.
 * Returns the batch plus the column where responses start.
 */
export function promptResponseBatch(
  prompts: readonly (readonly number[])[],
  responses: readonly (readonly number[])[],
  padId: number,
): PromptResponseBatch {
  const P = Math.max(...prompts.map((r) => r.length));
  const R = Math.max(0, ...responses.map((r) => r.length));
  const B = prompts.length;
  const T = P + R;
  const ids = new Int32Array(B * T).fill(padId);
  const mask = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const p = prompts[b] as readonly number[];
    const r = responses[b] as readonly number[];
    for (let t = 0; t < p.length; t++) {
      ids[b * T + P - p.length + t] = p[t] as number;
      mask[b * T + P - p.length + t] = 1;
    }
    for (let t = 0; t < r.length; t++) {
      ids[b * T + P + t] = r[t] as number;
      mask[b * T + P + t] = 1;
    }
  }
  return { ids, mask, batch: B, length: T, responseStart: P, responseLength: R };
}

/** Position ids `cumsum(mask) - mask` per row, so padding never shifts the positions of real tokens. */
export function positionIds(mask: Int32Array, batch: number, length: number): Int32Array {
  const pos = new Int32Array(batch * length);
  for (let b = 0; b < batch; b++) {
    let c = 0;
    for (let t = 0; t < length; t++) {
      const m = mask[b * length + t] as number;
      c += m;
      pos[b * length + t] = c - m;
    }
  }
  return pos;
}

/** Large negative bias for masked attention logits (finite, so fully masked rows stay NaN-free). */
export const MASK_BIAS = -1e9;

/**
 * Additive attention bias `[B, 1, Tq, Tk]` flattened: query `i` (at absolute column `qOffset + i`) may
 * attend to key `j` iff `j <= qOffset + i` and key `j` is a real token.
 */
export function attentionBias(keyMask: Int32Array, batch: number, tq: number, tk: number, qOffset: number): Float32Array {
  const bias = new Float32Array(batch * tq * tk);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < tq; i++) {
      const row = (b * tq + i) * tk;
      for (let j = 0; j < tk; j++) {
        if (j > qOffset + i || keyMask[b * tk + j] === 0) bias[row + j] = MASK_BIAS;
      }
    }
  }
  return bias;
}

/** Index of the last real token of each row, `-1` for an all-pad row. */
export function lastTokenIndex(batch: PaddedBatch): Int32Array {
  const out = new Int32Array(batch.batch).fill(-1);
  for (let b = 0; b < batch.batch; b++) {
    for (let t = batch.length - 1; t >= 0; t--) {
      if (batch.mask[b * batch.length + t] === 1) {
        out[b] = t;
        break;
      }
    }
  }
  return out;
}
