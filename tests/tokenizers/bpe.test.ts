// BpeTokenizer: training as Hugging Face's BpeTrainer (hand-computed merges, a naive re-count-everything
// trainer as reference), encoding = merges applied in rank order, round trips, GPT-2's own vocabulary
// giving gpt-tokenizer's r50k ids, special tokens and option checks.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encode as r50kEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { BpeTokenizer } from '../../src/tokenizers/bpe';
import { Gpt2Tokenizer } from '../../src/tokenizers/gpt2';
import { BYTE_TO_CHAR, GPT2_PATTERN, symbolsToBytes } from '../../src/tokenizers/byte-level-bpe';
import { ConfigError, InputError } from '../../src/errors';
import type { Logger, ProgressEvent } from '../../src/logging/logger';

const utf8 = new TextEncoder();
const symbols = (s: string): string[] => Array.from(utf8.encode(s), (b) => BYTE_TO_CHAR[b] as string);

/** Naive BpeTrainer: re-counts every pair after every merge; max count, ties to the smallest (id, id). */
function naiveTrain(texts: string[], vocabSize: number, specials: string[]): [string, string][] {
  const tokens = [...specials, ...[...BYTE_TO_CHAR].sort((a, b) => (a.codePointAt(0) as number) - (b.codePointAt(0) as number))];
  const id = new Map(tokens.map((t, i) => [t, i]));
  const words = texts.flatMap((t) => t.match(GPT2_PATTERN) ?? []).map(symbols);
  const merges: [string, string][] = [];
  while (tokens.length < vocabSize) {
    const counts = new Map<string, number>();
    for (const w of words) for (let i = 0; i + 1 < w.length; i++) counts.set(`${w[i]}\u0000${w[i + 1]}`, (counts.get(`${w[i]}\u0000${w[i + 1]}`) ?? 0) + 1);
    let best: [string, string] | undefined;
    let bestCount = 0;
    for (const [k, c] of counts) {
      const [a, b] = k.split('\u0000') as [string, string];
      const better = c > bestCount || (c === bestCount && best !== undefined
        && ((id.get(a) as number) < (id.get(best[0]) as number) || (a === best[0] && (id.get(b) as number) < (id.get(best[1]) as number))));
      if (better) { best = [a, b]; bestCount = c; }
    }
    if (best === undefined) break;
    merges.push(best);
    if (!id.has(best[0] + best[1])) { id.set(best[0] + best[1], tokens.length); tokens.push(best[0] + best[1]); }
    for (const w of words) mergeInPlace(w, best[0], best[1]);
  }
  return merges;
}

function mergeInPlace(w: string[], a: string, b: string): void {
  let out = 0;
  for (let i = 0; i < w.length; i++) {
    if (w[i] === a && w[i + 1] === b) { w[out++] = a + b; i++; } else w[out++] = w[i] as string;
  }
  w.length = out;
}

/** Reference encoder: every merge in rank order, applied to every piece (left to right). */
function rankOrderEncode(tok: BpeTokenizer, text: string): number[] {
  return (text.match(GPT2_PATTERN) ?? []).flatMap((piece) => {
    const w = symbols(piece);
    for (const [a, b] of tok.merges) mergeInPlace(w, a, b);
    return w.map((t) => tok.tokenToId(t) as number);
  });
}

const CORPUS = [
  'The jury said it did find that the city executive committee, which had over-all charge of the election, deserves the praise.',
  'The September-October term jury had been charged by Fulton Superior Court Judge Durwood Pye to investigate reports.',
  'Ça coûte 12,50 € — naïve café, 東京 and 😀 emoji; tabs\tand\nnewlines   here.',
  "It's 1961: they'll say we've done what I'd do, and you're right.",
];

describe('BpeTokenizer.train', () => {
  it('learns the hand-computed merges of a tiny corpus (ties to the smallest id pair)', () => {
    // aaabdaaabac: aa x4 -> [aa a b d aa a b a c]; then ab and (aa, a) tie at 2: (a, b) has the smaller
    // ids (byte symbols precede new tokens) -> [aa ab d aa ab a c]; aa+ab x2; then every pair counts 1
    // and the smallest ids win: (a, c), then (d, aaab).
    const tok = BpeTokenizer.train(['aaabdaaabac'], { vocabSize: 2 + 256 + 5 });
    expect(tok.merges).toEqual([['a', 'a'], ['a', 'b'], ['aa', 'ab'], ['a', 'c'], ['d', 'aaab']]);
    expect(tok.vocabSize).toBe(263);
    expect(tok.tokenToId('aa')).toBe(258);
    expect(tok.tokenToId('daaab')).toBe(262);
    expect(tok.encode('aaabdaaabac')).toEqual([260, 262, 261]); // aaab daaab ac
    expect(BpeTokenizer.train(['aaabdaaabac'], { vocabSize: 300, minFrequency: 2 }).merges).toEqual([['a', 'a'], ['a', 'b'], ['aa', 'ab']]);
  });

  it('puts the special tokens first, then the byte symbols in GPT-2 order (HF convention)', () => {
    const tok = BpeTokenizer.train(['hello hello world'], { vocabSize: 270 });
    expect([tok.eosId, tok.padId, tok.bosId]).toEqual([0, 1, 0]);
    expect(tok.idToToken(0)).toBe('<|endoftext|>');
    expect(tok.idToToken(1)).toBe('<|pad|>');
    expect(tok.idToToken(2)).toBe('!'); // GPT-2's id 0
    expect(tok.idToToken(2 + 255)).toBe(BYTE_TO_CHAR[173]); // GPT-2's id 255 is the last non-printable byte
    expect(tok.merges[0]).toEqual(['e', 'l']); // he, el, ll, lo all count 2: 'e' has the smallest id
    const custom = BpeTokenizer.train(['x'], { vocabSize: 300, specialTokens: ['<s>', '</s>', '<pad>'], eosToken: '</s>', bosToken: '<s>' });
    expect([custom.bosId, custom.eosId, custom.padId]).toEqual([0, 1, 2]);
    const appended = BpeTokenizer.train(['x'], { vocabSize: 300, specialTokens: ['<eos>'] });
    expect([appended.eosId, appended.padId, appended.idToToken(1)]).toEqual([0, 1, '<|pad|>']);
  });

  it('matches a naive trainer that re-counts every pair after every merge', () => {
    const word = fc.stringMatching(/^[ab c]{1,9}$/);
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 12 }), fc.integer({ min: 258, max: 290 }), (texts, vocabSize) => {
        expect(BpeTokenizer.train(texts, { vocabSize }).merges).toEqual(naiveTrain(texts, vocabSize, ['<|endoftext|>', '<|pad|>']));
      }),
      { numRuns: 150 },
    );
    const english = CORPUS.join(' ').split(/(?<=[.;:])/);
    expect(BpeTokenizer.train(english, { vocabSize: 340 }).merges).toEqual(naiveTrain(english, 340, ['<|endoftext|>', '<|pad|>']));
  });

  it('is deterministic and independent of the order of the texts', () => {
    const a = BpeTokenizer.train(CORPUS, { vocabSize: 400 });
    const b = BpeTokenizer.train([...CORPUS].reverse(), { vocabSize: 400 });
    const c = BpeTokenizer.train(new Set(CORPUS), { vocabSize: 400 }); // any iterable
    expect(b.merges).toEqual(a.merges);
    expect(c.merges).toEqual(a.merges);
    expect(a.vocabSize).toBe(400);
  });

  it('stops early when no pair is left, and reports progress to the logger', () => {
    const events: ProgressEvent[] = [];
    const logger: Logger = { log: () => undefined, progress: (e) => events.push(e) };
    const tok = BpeTokenizer.train(['ab'], { vocabSize: 1000, logger });
    expect(tok.merges).toEqual([['a', 'b']]);
    expect(tok.vocabSize).toBe(259);
    expect(events.at(-1)).toMatchObject({ task: 'bpe', done: 259, total: 1000 });
  });

  it('rejects bad options and texts, naming them', () => {
    const bad: [unknown, string][] = [
      [{ vocabSize: 100 }, 'BpeTrainOptions.vocabSize'],
      [{ vocabSize: 300.5 }, 'BpeTrainOptions.vocabSize'],
      [{ minFrequency: -1 }, 'BpeTrainOptions.minFrequency'],
      [{ specialTokens: ['a', 'b'] }, 'BpeTrainOptions.specialTokens[0]'],
      [{ specialTokens: ['<x>', '<x>'] }, 'BpeTrainOptions.specialTokens[1]'],
      [{ specialTokens: 'x' }, 'BpeTrainOptions.specialTokens'],
      [{ padToken: '<|endoftext|>' }, 'BpeTrainOptions.padToken'],
    ];
    for (const [options, param] of bad) {
      const err = (() => { try { BpeTokenizer.train(['x'], options as never); } catch (e) { return e; } })();
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).param).toBe(param);
    }
    for (const [texts, param] of [['abc', 'texts'], [42, 'texts'], [['ok', 7], 'texts[1]']] as const) {
      const err = (() => { try { BpeTokenizer.train(texts as never); } catch (e) { return e; } })();
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).param).toBe(param);
    }
  });
});

describe('BpeTokenizer encode/decode', () => {
  const tok = BpeTokenizer.train(CORPUS, { vocabSize: 420 });
  const special = new Set([tok.eosId, tok.padId, tok.bosId]);

  it('round-trips arbitrary well-formed strings with ordinary ids only', () => {
    const strings = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 60 }),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.constantFrom(...CORPUS),
    );
    fc.assert(
      fc.property(strings, (s) => {
        const ids = tok.encode(s);
        for (const id of ids) expect(Number.isInteger(id) && id >= 0 && id < tok.vocabSize && !special.has(id)).toBe(true);
        expect(tok.decode(ids)).toBe(s);
      }),
      { numRuns: 400 },
    );
  });

  it('encodes lone surrogates as U+FFFD (as TextEncoder does)', () => {
    const wellFormed = (s: string): string => new TextDecoder('utf-8', { ignoreBOM: true }).decode(utf8.encode(s));
    expect(tok.decode(tok.encode('a\uD800b\uDC00'))).toBe('a\uFFFDb\uFFFD');
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)), maxLength: 20 }), (s) => {
        expect(tok.decode(tok.encode(s))).toBe(wellFormed(s));
      }),
      { numRuns: 200 },
    );
  });

  it('applies the merges in rank order (reference: every merge in turn over each piece)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.constantFrom(...CORPUS)), (s) => {
        expect(tok.encode(s)).toEqual(rankOrderEncode(tok, s));
      }),
      { numRuns: 300 },
    );
  });

  it('never produces special ids, drops them in decode unless keepSpecial, never throws on partial UTF-8', () => {
    const ids = tok.encode('<|endoftext|><|pad|>');
    expect(ids.some((id) => special.has(id))).toBe(false);
    const hi = tok.encode('hi');
    expect(tok.decode([tok.bosId, ...hi, tok.eosId, tok.padId])).toBe('hi');
    expect(tok.decode([tok.bosId, ...hi, tok.eosId, tok.padId], { keepSpecial: true })).toBe('<|endoftext|>hi<|endoftext|><|pad|>');
    const emoji = tok.encode('😀');
    expect(tok.decode(emoji.slice(0, 1))).toBe('\uFFFD');
    expect(tok.decode([...emoji.slice(0, 2), tok.eosId, ...emoji.slice(2)])).toBe('😀'); // dropped specials do not split bytes
    const bytesOf = (id: number): number[] => [...symbolsToBytes(tok.idToToken(id) as string)];
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: tok.vocabSize - 1 }), { maxLength: 30 }), (xs) => {
      // any ids (partial characters included) decode as their tokens' bytes decoded all at once
      const all = Uint8Array.from(xs.filter((x) => !special.has(x)).flatMap(bytesOf));
      expect(tok.decode(xs)).toBe(decoder.decode(all));
    }), { numRuns: 300 });
  });

  it('rejects ids outside [0, vocabSize) and non-strings, naming them', () => {
    for (const bad of [-1, tok.vocabSize, 0.5, Number.NaN]) {
      const err = (() => { try { tok.decode([3, bad]); } catch (e) { return e; } })();
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).param).toBe('ids[1]');
    }
    expect(() => tok.encode(5 as never)).toThrow(InputError);
  });
});

describe('BpeTokenizer over GPT-2\'s own vocabulary', () => {
  const gpt2 = new BpeTokenizer(new Gpt2Tokenizer().vocabulary());
  const plain = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };

  it('gives the ids of gpt-tokenizer\'s r50k_base on random text, and decodes them back', () => {
    expect([gpt2.vocabSize, gpt2.eosId, gpt2.padId]).toEqual([50258, 50256, 50257]);
    expect(gpt2.encode('Hello world')).toEqual([15496, 995]);
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ unit: 'grapheme-ascii', maxLength: 80 }), fc.constantFrom(...CORPUS)), (s) => {
        const ids = gpt2.encode(s);
        expect(ids).toEqual(r50kEncode(s, plain));
        expect(gpt2.decode(ids)).toBe(s);
      }),
      { numRuns: 400 },
    );
  });
});
