import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BpeTokenizer } from '../../src/tokenizers/bpe';
import { FileFormatError } from '../../src/errors';

const corpus = ['the cat sat on the mat', 'the dog sat on the log', 'a stitch in time saves nine', 'naïve café — 東京 🎉'];

describe('BpeTokenizer.fromJson (no file system: the browser path)', () => {
  it('gives the same ids, specials and vocabulary as fromPretrained on the saved files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bpe-json-'));
    try {
      const trained = BpeTokenizer.train(corpus, { vocabSize: 300 });
      await trained.savePretrained(dir);
      const [json, config] = await Promise.all([readFile(join(dir, 'tokenizer.json'), 'utf8'), readFile(join(dir, 'tokenizer_config.json'), 'utf8')]);
      const fromFiles = await BpeTokenizer.fromPretrained(dir);
      for (const tok of [BpeTokenizer.fromJson(json, config), BpeTokenizer.fromJson(JSON.parse(json) as Record<string, unknown>, JSON.parse(config) as Record<string, unknown>)]) {
        expect([tok.vocabSize, tok.eosId, tok.padId, tok.bosId]).toEqual([fromFiles.vocabSize, fromFiles.eosId, fromFiles.padId, fromFiles.bosId]);
        expect(tok.merges).toEqual(trained.merges);
        fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
          expect(tok.encode(s)).toEqual(trained.encode(s));
          expect(tok.decode(tok.encode(s))).toBe(s);
        }), { numRuns: 100 });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects text that is not JSON, and a tokenizer that is not a byte-level BPE, with a FileFormatError', () => {
    expect(() => BpeTokenizer.fromJson('{"model": ')).toThrow(FileFormatError);
    expect(() => BpeTokenizer.fromJson({ model: { type: 'WordPiece' } })).toThrow(/only byte-level BPE/);
    expect(() => BpeTokenizer.fromJson({ model: { type: 'BPE', vocab: {}, merges: [] }, pre_tokenizer: { type: 'Whitespace' } })).toThrow(/ByteLevel/);
  });
});
