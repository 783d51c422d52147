import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { InputError } from '../../src/errors';

const tok = new ByteTokenizer();

/** What a string becomes after a UTF-8 round trip: lone surrogates replaced by U+FFFD. */
function wellFormed(s: string): string {
  return (s as unknown as { toWellFormed(): string }).toWellFormed();
}

describe('ByteTokenizer', () => {
  it('has the documented ids', () => {
    expect(tok.vocabSize).toBe(259);
    expect(tok.eosId).toBe(256);
    expect(tok.padId).toBe(257);
    expect(tok.bosId).toBe(258);
    expect(tok.padId).not.toBe(tok.eosId);
  });

  it('encodes UTF-8 bytes', () => {
    expect(tok.encode('')).toEqual([]);
    expect(tok.encode('hé')).toEqual([104, 195, 169]);
    expect(tok.encode('€')).toEqual([0xe2, 0x82, 0xac]);
    expect(tok.encode('😀')).toEqual([0xf0, 0x9f, 0x98, 0x80]);
  });

  it('round-trips well-formed strings (grapheme and full code point units)', () => {
    const strings = fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }));
    fc.assert(
      fc.property(strings, (s) => {
        const ids = tok.encode(s);
        expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < 256)).toBe(true);
        expect(tok.decode(ids)).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a leading byte order mark', () => {
    expect(tok.decode(tok.encode('\uFEFFabc'))).toBe('\uFEFFabc');
  });

  it('maps lone surrogates to U+FFFD (arbitrary UTF-16)', () => {
    const units = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 });
    fc.assert(
      fc.property(units, (codes) => {
        const s = String.fromCharCode(...codes);
        expect(tok.decode(tok.encode(s))).toBe(wellFormed(s));
      }),
    );
    expect(tok.encode('\uD800')).toEqual([239, 191, 189]);
  });

  it('decodes invalid UTF-8 to replacement characters without throwing', () => {
    expect(tok.decode([0xe2, 0x82])).toBe('\uFFFD');
    expect(tok.decode([0xff, 104])).toBe('\uFFFDh');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 258 })), (ids) => {
        expect(typeof tok.decode(ids)).toBe('string');
      }),
    );
  });

  it('drops special tokens by default, as if they were absent', () => {
    expect(tok.decode([tok.bosId, 104, 105, tok.eosId, tok.padId, tok.padId])).toBe('hi');
    // The bytes of '€' split by a special token still decode as one character.
    expect(tok.decode([0xe2, tok.padId, 0x82, 0xac])).toBe('€');
  });

  it('renders special tokens with keepSpecial', () => {
    expect(tok.decode([tok.bosId, 104, tok.eosId, tok.padId], { keepSpecial: true })).toBe(
      '<|bos|>h<|eos|><|pad|>',
    );
    // The markers are plain text when encoded again.
    expect(tok.encode('<|eos|>').every((id) => id < 256)).toBe(true);
  });

  it('rejects ids outside [0, vocabSize) naming ids[i]', () => {
    for (const bad of [-1, 259, 1.5, Number.NaN, 1e9]) {
      let err: unknown;
      try {
        tok.decode([104, 105, bad]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).param).toBe('ids[2]');
    }
  });

  it('rejects non-string text', () => {
    expect(() => tok.encode(42 as unknown as string)).toThrow(InputError);
  });
});
