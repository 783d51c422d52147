// A trained BpeTokenizer saved as Hugging Face files (tokenizer.json with the special tokens first, as
// `tokenizers` writes a trained BPE) and read back by BpeTokenizer.fromPretrained and loadTokenizer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpeTokenizer } from '../../src/tokenizers/bpe';
import { Gpt2Tokenizer } from '../../src/tokenizers/gpt2';
import { loadTokenizer } from '../../src/hf/tokenizer-files';
import { FileFormatError } from '../../src/errors';

const TEXTS = [
  'The Fulton County Grand Jury said Friday an investigation of recent primary elections produced no evidence.',
  'The jury further said in term-end presentments that the City Executive Committee deserves praise.',
  'Naïve café, 東京, 😀; numbers 1961 and 3,000.',
];
let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'bpe-files-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

describe('BpeTokenizer files', () => {
  const tok = BpeTokenizer.train(TEXTS, { vocabSize: 400 });

  it('writes tokenizer.json as Hugging Face does for a trained BPE, atomically', async () => {
    const d = join(dir, 'trained');
    await tok.savePretrained(d);
    expect((await readdir(d)).sort()).toEqual(['merges.txt', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json']);
    const json = JSON.parse(await readFile(join(d, 'tokenizer.json'), 'utf8'));
    expect(json.model.type).toBe('BPE');
    expect(json.pre_tokenizer).toMatchObject({ type: 'ByteLevel', add_prefix_space: false, use_regex: true });
    expect(json.added_tokens.map((t: { id: number; content: string; special: boolean }) => [t.id, t.content, t.special])).toEqual([[0, '<|endoftext|>', true], [1, '<|pad|>', true]]);
    expect(json.model.vocab['<|endoftext|>']).toBe(0);
    expect(json.model.vocab['!']).toBe(2);
    expect(Object.keys(json.model.vocab)).toHaveLength(400);
    expect(json.model.merges).toEqual(tok.merges.map(([a, b]) => [a, b]));
    const config = JSON.parse(await readFile(join(d, 'tokenizer_config.json'), 'utf8'));
    expect(config).toMatchObject({ eos_token: '<|endoftext|>', pad_token: '<|pad|>', bos_token: '<|endoftext|>', tfjs_rlhf_class: 'BpeTokenizer' });
  });

  it('reads back with the same ids (fromPretrained and loadTokenizer give a BpeTokenizer)', async () => {
    const d = join(dir, 'trained');
    await writeFile(join(d, 'other.txt'), 'kept');
    await tok.savePretrained(d); // rewriting keeps other files
    expect(await readFile(join(d, 'other.txt'), 'utf8')).toBe('kept');
    const viaClass = await BpeTokenizer.fromPretrained(d);
    const viaLoad = await loadTokenizer(d);
    expect(viaLoad).toBeInstanceOf(BpeTokenizer);
    for (const back of [viaClass, viaLoad]) {
      expect({ v: back.vocabSize, e: back.eosId, p: back.padId, b: back.bosId }).toEqual({ v: tok.vocabSize, e: tok.eosId, p: tok.padId, b: tok.bosId });
    }
    expect(viaClass.merges).toEqual(tok.merges);
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.constantFrom(...TEXTS)), (s) => {
        const ids = tok.encode(s);
        expect(viaClass.encode(s)).toEqual(ids);
        expect(viaLoad.encode(s)).toEqual(ids);
        expect(viaLoad.decode([...ids, tok.eosId], { keepSpecial: true })).toBe(`${s}<|endoftext|>`);
      }),
      { numRuns: 100 },
    );
  });

  it('reads other byte-level BPE files too: the tiny GPT-2 fixture gives the same ids as Gpt2Tokenizer', async () => {
    const fixture = join(__dirname, '../fixtures/hf-gpt2/tiny-gpt2');
    const bpe = await BpeTokenizer.fromPretrained(fixture);
    const gpt2 = await Gpt2Tokenizer.fromPretrained(fixture);
    expect({ v: bpe.vocabSize, e: bpe.eosId, p: bpe.padId }).toEqual({ v: gpt2.vocabSize, e: gpt2.eosId, p: gpt2.padId });
    for (const s of ['the sky is blue', 'Hello, world!', '']) {
      expect(bpe.encode(s)).toEqual(gpt2.encode(s));
      expect(bpe.decode([...bpe.encode(s), bpe.padId], { keepSpecial: true })).toBe(gpt2.decode([...gpt2.encode(s), gpt2.padId], { keepSpecial: true }));
    }
  });

  it('a folder without tokenizer files is a FileFormatError', async () => {
    const d = join(dir, 'empty');
    await rm(d, { recursive: true, force: true });
    await mkdir(d);
    await expect(BpeTokenizer.fromPretrained(d)).rejects.toBeInstanceOf(FileFormatError);
  });
});
