import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decode as referenceDecode } from 'gpt-tokenizer/encoding/r50k_base';
import { Gpt2Tokenizer } from '../../src/tokenizers/gpt2';
import { InputError } from '../../src/errors';

const tok = new Gpt2Tokenizer();

describe('Gpt2Tokenizer', () => {
  it('has the documented ids', () => {
    expect(tok.vocabSize).toBe(50258);
    expect(tok.eosId).toBe(50256);
    expect(tok.bosId).toBe(50256);
    expect(tok.padId).toBe(50257);
  });

  it('encodes like GPT-2', () => {
    expect(tok.encode('Hello world')).toEqual([15496, 995]);
    expect(tok.encode('')).toEqual([]);
    expect(tok.decode([15496, 995])).toBe('Hello world');
  });

  it('round-trips arbitrary well-formed strings, with ordinary ids only', () => {
    const strings = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 60 }),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.string({ unit: 'grapheme-ascii', maxLength: 60 }),
    );
    fc.assert(
      fc.property(strings, (s) => {
        const ids = tok.encode(s);
        for (const id of ids) {
          expect(Number.isInteger(id) && id >= 0 && id < tok.eosId).toBe(true);
        }
        expect(tok.decode(ids)).toBe(s);
      }),
      { numRuns: 400 },
    );
  });

  it('encodes special-token spellings as plain text', () => {
    for (const text of ['<|endoftext|>', 'a<|endoftext|>b', '<|endoftext|><|endoftext|>', '<|pad|>']) {
      const ids = tok.encode(text);
      expect(ids).not.toContain(tok.eosId);
      expect(ids).not.toContain(tok.padId);
      expect(tok.decode(ids)).toBe(text);
    }
  });

  it('agrees with gpt-tokenizer on ordinary ids', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
        const ids = tok.encode(s);
        expect(tok.decode(ids)).toBe(referenceDecode(ids));
      }),
      { numRuns: 100 },
    );
  });

  it('drops EOS/BOS and PAD by default and renders them with keepSpecial', () => {
    const ids = [tok.bosId, 15496, 995, tok.eosId, tok.padId];
    expect(tok.decode(ids)).toBe('Hello world');
    expect(tok.decode(ids, { keepSpecial: true })).toBe('<|endoftext|>Hello world<|endoftext|><|pad|>');
  });

  it('decodes partial UTF-8 to U+FFFD without leaking state into the next call', () => {
    const emoji = tok.encode('😀');
    expect(emoji.length).toBeGreaterThan(1);
    expect(tok.decode(emoji.slice(0, 1))).toBe('\uFFFD');
    expect(tok.decode(tok.encode('😀x'))).toBe('😀x');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50257 }), { maxLength: 20 }), (ids) => {
        expect(typeof tok.decode(ids)).toBe('string');
      }),
      { numRuns: 200 },
    );
  });

  it('rejects ids outside [0, vocabSize) naming ids[i]', () => {
    for (const bad of [-1, 50258, 0.5, Number.NaN]) {
      let err: unknown;
      try {
        tok.decode([15496, bad]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).param).toBe('ids[1]');
    }
  });
});
