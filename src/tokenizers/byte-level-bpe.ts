/**
 * Byte-level BPE as in GPT-2 and Hugging Face `tokenizers` (`ByteLevel` pre-tokenizer + `BPE` model):
 * the text is split by GPT-2's pattern, each piece's UTF-8 bytes are mapped to printable characters
 * (space -> `Ġ`, newline -> `Ċ`), then adjacent symbols are merged by rank. Pure: works in browsers.
 * @module
 */
import { FileFormatError } from '../errors';

/** GPT-2's pre-tokenisation pattern (`tokenizers` ByteLevel with `use_regex`). @internal */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function byteTables(): { toChar: string[]; toByte: Map<string, number> } {
  const toChar = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    toChar[b] = String.fromCodePoint(printable ? b : 256 + n++);
  }
  return { toChar, toByte: new Map(toChar.map((c, b) => [c, b])) };
}

/** `BYTE_TO_CHAR[b]` is the printable character that stands for byte `b`. */
export const BYTE_TO_CHAR: readonly string[] = byteTables().toChar;
const CHAR_TO_BYTE = byteTables().toByte;

const utf8 = new TextEncoder();
const CACHE_LIMIT = 100_000;

/** The characters that stand for these bytes (a token string of the byte-level vocabulary). */
export function bytesToSymbols(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += BYTE_TO_CHAR[b];
  return s;
}

/** The bytes a byte-level token string stands for; characters outside the table are taken as UTF-8 text. */
export function symbolsToBytes(token: string): Uint8Array {
  const out: number[] = [];
  for (const ch of token) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b !== undefined) out.push(b);
    else out.push(...utf8.encode(ch));
  }
  return Uint8Array.from(out);
}

/** Merges adjacent symbols by rank until no pair is ranked (openai/gpt-2 `encoder.py` `bpe`). */
export function bpeMerge(symbols: string[], ranks: ReadonlyMap<string, number>): string[] {
  let parts = symbols;
  while (parts.length > 1) {
    let best = Infinity;
    let at = -1;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = ranks.get(`${parts[i]} ${parts[i + 1]}`);
      if (r !== undefined && r < best) {
        best = r;
        at = i;
      }
    }
    if (at < 0) break;
    const first = parts[at] as string;
    const second = parts[at + 1] as string;
    const next: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (i + 1 < parts.length && parts[i] === first && parts[i + 1] === second) {
        next.push(first + second);
        i++;
      } else {
        next.push(parts[i] as string);
      }
    }
    parts = next;
  }
  return parts;
}

/** A byte-level BPE model: vocabulary (token string -> id) and merges in rank order. */
export class ByteLevelBpe {
  /** Token string -> id. */
  readonly vocab: ReadonlyMap<string, number>;
  /** Merges, rank 0 first. */
  readonly merges: readonly (readonly [string, string])[];
  /** Rank of each mergeable pair, keyed by `firstId * width + secondId` (ids are faster keys than strings). */
  private readonly pairRank = new Map<number, number>();
  /** Id of the token each merge (by rank) makes. */
  private readonly mergedId: Int32Array;
  /** Id of each byte's symbol. */
  private readonly byteId = new Int32Array(256);
  /** One more than the largest id. */
  private readonly width: number;
  private readonly idToToken = new Map<number, string>();
  private readonly cache = new Map<string, number[]>();

  /**
   * @param vocab - token string -> id; must hold the 256 single-byte symbols.
   * @param merges - pairs in rank order.
   * @param file - name used in errors.
   * @throws A {@link FileFormatError} when a byte symbol or a merge result is missing from the vocabulary.
   */
  constructor(vocab: ReadonlyMap<string, number>, merges: readonly (readonly [string, string])[], file = '<tokenizer>') {
    this.vocab = vocab;
    this.merges = merges;
    let width = 0;
    for (const [token, id] of vocab) {
      this.idToToken.set(id, token);
      width = Math.max(width, id + 1);
    }
    this.width = width;
    for (let b = 0; b < 256; b++) {
      const id = vocab.get(BYTE_TO_CHAR[b] as string);
      if (id === undefined) {
        throw new FileFormatError(file, `not a byte-level BPE vocabulary: the symbol of byte ${b} (${JSON.stringify(BYTE_TO_CHAR[b])}) is missing`);
      }
      this.byteId[b] = id;
    }
    this.mergedId = new Int32Array(merges.length);
    merges.forEach(([a, b], i) => {
      const merged = vocab.get(a + b);
      if (merged === undefined) throw new FileFormatError(file, `merge ${i} (${JSON.stringify(`${a} ${b}`).slice(0, 60)}) makes a token that is not in the vocabulary`);
      this.mergedId[i] = merged;
      const first = vocab.get(a);
      const second = vocab.get(b);
      // A merge of a string that is not a token can never apply (every part is a token).
      if (first === undefined || second === undefined) return;
      const key = first * width + second;
      if (!this.pairRank.has(key)) this.pairRank.set(key, i);
    });
  }

  /** Applies the merges to one piece's symbol ids, lowest rank first, in place (as {@link bpeMerge}). */
  private mergePiece(parts: number[]): number[] {
    while (parts.length > 1) {
      let best = Infinity;
      let first = -1;
      let second = -1;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = this.pairRank.get((parts[i] as number) * this.width + (parts[i + 1] as number));
        if (r !== undefined && r < best) {
          best = r;
          first = parts[i] as number;
          second = parts[i + 1] as number;
        }
      }
      if (best === Infinity) break;
      const merged = this.mergedId[best] as number;
      let out = 0;
      for (let i = 0; i < parts.length; i++) {
        if (parts[i] === first && parts[i + 1] === second) {
          parts[out++] = merged;
          i++;
        } else {
          parts[out++] = parts[i] as number;
        }
      }
      parts.length = out;
    }
    return parts;
  }

  /** Ids of `text` (no special tokens are recognised). */
  encode(text: string): number[] {
    const out: number[] = [];
    for (const piece of text.match(GPT2_PATTERN) ?? []) {
      let ids = this.cache.get(piece);
      if (ids === undefined) {
        ids = this.mergePiece(Array.from(utf8.encode(piece), (b) => this.byteId[b] as number));
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(piece, ids);
      }
      out.push(...ids);
    }
    return out;
  }

  /** The token string of an id, if the vocabulary has it. */
  token(id: number): string | undefined {
    return this.idToToken.get(id);
  }
}
