// Tokenizers in and out: the fixture's byte-level BPE (encodings by GPT-2's encoder.py algorithm in
// make_fixture.py), GPT-2's own vocabulary written as HF files and read back, and the byte tokenizer as an
// HF tokenizer.json giving the same ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Gpt2Tokenizer } from '../../src/tokenizers/gpt2';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { loadTokenizer } from '../../src/hf/tokenizer-files';
import { FileFormatError } from '../../src/errors';

const FIXTURE = resolve(__dirname, '../fixtures/hf-gpt2');
const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as { texts: string[]; encodings: number[][] };
let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'hf-tok-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

describe('Gpt2Tokenizer.fromPretrained', () => {
  it('tokenizer.json: the ids of GPT-2\'s BPE algorithm, special tokens from tokenizer_config.json', async () => {
    const tok = await Gpt2Tokenizer.fromPretrained(join(FIXTURE, 'tiny-gpt2'));
    expect({ vocabSize: tok.vocabSize, eosId: tok.eosId, bosId: tok.bosId, padId: tok.padId }).toEqual({ vocabSize: 300, eosId: 298, bosId: 298, padId: 299 });
    expected.texts.forEach((t, i) => expect(tok.encode(t)).toEqual(expected.encodings[i]));
    for (const t of expected.texts) expect(tok.decode(tok.encode(t))).toBe(t);
    expect(tok.decode([...tok.encode('the sky'), 298, 299])).toBe('the sky');
    expect(tok.decode([...tok.encode('the sky'), 298, 299], { keepSpecial: true })).toBe('the sky<|endoftext|><|pad|>');
    expect(tok.encode('<|endoftext|>')).not.toContain(298); // user text cannot inject EOS
  });

  it('vocab.json + merges.txt alone give the same ids', async () => {
    const d = join(dir, 'slow');
    await cp(join(FIXTURE, 'tiny-gpt2'), d, { recursive: true });
    await rm(join(d, 'tokenizer.json'));
    const tok = await Gpt2Tokenizer.fromPretrained(d);
    expected.texts.forEach((t, i) => expect(tok.encode(t)).toEqual(expected.encodings[i]));
    expect(tok.padId).toBe(299); // from added_tokens_decoder + pad_token
  });

  it('without a distinct pad token, one pad id is appended after the vocabulary', async () => {
    const d = join(dir, 'nopad');
    await cp(join(FIXTURE, 'tiny-gpt2'), d, { recursive: true });
    for (const f of ['tokenizer_config.json', 'special_tokens_map.json']) await rm(join(d, f));
    const json = JSON.parse(await readFile(join(d, 'tokenizer.json'), 'utf8'));
    json.added_tokens = json.added_tokens.filter((t: { id: number }) => t.id !== 299);
    await writeFile(join(d, 'tokenizer.json'), JSON.stringify(json));
    const tok = await Gpt2Tokenizer.fromPretrained(d);
    expect({ vocabSize: tok.vocabSize, eosId: tok.eosId, padId: tok.padId }).toEqual({ vocabSize: 300, eosId: 298, padId: 299 });
    expect(tok.decode([299], { keepSpecial: true })).toBe('<|pad|>');
  });

  it('a WordPiece tokenizer.json is a FileFormatError', async () => {
    const d = join(dir, 'wordpiece');
    await cp(join(FIXTURE, 'tiny-gpt2'), d, { recursive: true });
    const json = JSON.parse(await readFile(join(d, 'tokenizer.json'), 'utf8'));
    await writeFile(join(d, 'tokenizer.json'), JSON.stringify({ ...json, model: { ...json.model, type: 'WordPiece' } }));
    await expect(Gpt2Tokenizer.fromPretrained(d)).rejects.toThrow(FileFormatError);
  });
});

describe('savePretrained', () => {
  it('GPT-2\'s own vocabulary (merges recovered from the ranks) reads back with the same ids as r50k_base', async () => {
    const gpt2 = new Gpt2Tokenizer();
    const d = join(dir, 'gpt2');
    await gpt2.savePretrained(d);
    const merges = (await readFile(join(d, 'merges.txt'), 'utf8')).split('\n');
    expect(merges[0]).toBe('#version: 0.2');
    expect(merges.filter((l) => l !== '').length).toBe(1 + 50000);
    expect(merges[1]).toBe('Ġ t'); // GPT-2's first merge
    const vocab = JSON.parse(await readFile(join(d, 'vocab.json'), 'utf8'));
    expect(vocab['<|endoftext|>']).toBe(50256);
    expect(vocab['Ġthe']).toBe(262);
    const back = await Gpt2Tokenizer.fromPretrained(d);
    expect({ vocabSize: back.vocabSize, eosId: back.eosId, padId: back.padId }).toEqual({ vocabSize: 50258, eosId: 50256, padId: 50257 });
    for (const t of ['Hello world', ' naïve café, 2026!\n\n  indented', "It's we've they'll", '日本語のテキスト 🎉']) {
      expect(back.encode(t)).toEqual(gpt2.encode(t));
    }
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
      expect(back.encode(s)).toEqual(gpt2.encode(s));
      expect(back.decode(back.encode(s))).toBe(s);
    }), { numRuns: 200 });
  });

  it('the byte tokenizer is an HF byte-level BPE with no merges whose ids are the bytes; loadTokenizer gives it back', async () => {
    const d = join(dir, 'bytes');
    await new ByteTokenizer().savePretrained(d);
    const json = JSON.parse(await readFile(join(d, 'tokenizer.json'), 'utf8'));
    expect(json.model.merges).toEqual([]);
    expect(json.added_tokens.map((t: { id: number; content: string }) => [t.id, t.content])).toEqual([[256, '<|eos|>'], [257, '<|pad|>'], [258, '<|bos|>']]);
    expect(await loadTokenizer(d)).toBeInstanceOf(ByteTokenizer);
    // The same files read as a generic byte-level BPE (what Hugging Face does) give the byte tokenizer's ids.
    const asBpe = await Gpt2Tokenizer.fromPretrained(d);
    const bytes = new ByteTokenizer();
    expect({ eos: asBpe.eosId, pad: asBpe.padId, bos: asBpe.bosId, size: asBpe.vocabSize }).toEqual({ eos: 256, pad: 257, bos: 258, size: 259 });
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
      expect(asBpe.encode(s)).toEqual(bytes.encode(s));
    }), { numRuns: 200 });
  });

  it('loadTokenizer on an HF folder gives a Gpt2Tokenizer', async () => {
    const tok = await loadTokenizer(join(FIXTURE, 'tiny-gpt2'));
    expect(tok).toBeInstanceOf(Gpt2Tokenizer);
    expect(tok.encode(expected.texts[3]!)).toEqual(expected.encodings[3]);
  });
});
