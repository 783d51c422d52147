/**
 * Tokenizer files of Hugging Face folders: reading `tokenizer.json` (or `vocab.json` + `merges.txt`)
 * of a byte-level BPE into a {@link Gpt2Tokenizer}, writing any of this library's tokenizers as files
 * `transformers.AutoTokenizer` loads, and {@link loadTokenizer} for whichever a folder holds.
 * The {@link ByteTokenizer} is written as a byte-level BPE with no merges whose ids are the byte
 * values (specials `<|eos|>` 256, `<|pad|>` 257, `<|bos|>` 258): Hugging Face gives the same ids.
 * Node.js only.
 * @module
 */
import { FileFormatError, InputError } from '../errors';
import { readFileBytes } from '../io/atomic';
import { writeDirAtomic, type CheckpointFiles } from '../io/atomic-dir';
import { ByteTokenizer } from '../tokenizers/byte';
import { BpeTokenizer } from '../tokenizers/bpe';
import { ByteLevelBpe, BYTE_TO_CHAR } from '../tokenizers/byte-level-bpe';
import { Gpt2Tokenizer, type Gpt2Vocabulary } from '../tokenizers/gpt2';
import type { Tokenizer } from '../tokenizers/tokenizer';
import type { HubOptions } from './hub';
import { openPretrained, readJsonFile, type PretrainedFiles } from './source';
import { tokenizerJson, tokenizerConfigJson, SAVED_CLASS, type HfTokenizerSpec } from './tokenizer-json';

type Added = Map<number, { content: string; special: boolean }>;

const tokenName = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : undefined;

function addedFrom(list: unknown, where: string, into: Added): void {
  if (!Array.isArray(list)) return;
  for (const t of list) {
    const { id, content, special } = (t ?? {}) as { id?: unknown; content?: unknown; special?: unknown };
    if (!Number.isInteger(id) || (id as number) < 0 || typeof content !== 'string') throw new FileFormatError(where, `added token ${JSON.stringify(t).slice(0, 80)} needs an integer id and a string content`);
    into.set(id as number, { content, special: special === true });
  }
}

function vocabFrom(raw: unknown, where: string): Map<string, number> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new FileFormatError(where, 'the vocabulary must be an object of token -> id');
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(raw)) {
    if (!Number.isInteger(id) || (id as number) < 0) throw new FileFormatError(where, `token ${JSON.stringify(token).slice(0, 40)} has id ${JSON.stringify(id)}; ids are non-negative integers`);
    vocab.set(token, id as number);
  }
  return vocab;
}

function mergeFrom(m: unknown, i: number, where: string): [string, string] {
  if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
  const parts = typeof m === 'string' ? m.split(' ') : [];
  if (parts.length !== 2) throw new FileFormatError(where, `merge ${i} must be "a b" or ["a", "b"], got ${JSON.stringify(m).slice(0, 40)}`);
  return parts as [string, string];
}

async function readText(files: PretrainedFiles, name: string): Promise<string | undefined> {
  const path = await files.file(name);
  return path === undefined ? undefined : new TextDecoder().decode(await readFileBytes(path));
}

/**
 * The vocabulary, merges, added tokens and special-token names of parsed `tokenizer.json` and
 * `tokenizer_config.json` objects. Pure (no file system). @internal
 */
export function specFromTokenizerJson(json: Record<string, unknown>, config: Record<string, unknown>, map: Record<string, unknown>, label: string): HfTokenizerSpec {
  const added: Added = new Map();
  const where = `${label}/tokenizer.json`;
  const model = (json.model ?? {}) as Record<string, unknown>;
  if (model.type !== 'BPE') throw new FileFormatError(where, `model.type ${JSON.stringify(model.type)}: only byte-level BPE (GPT-2 style) tokenizers load`);
  const pre = (json.pre_tokenizer ?? {}) as Record<string, unknown>;
  if (pre.type !== 'ByteLevel') throw new FileFormatError(where, `pre_tokenizer.type ${JSON.stringify(pre.type)}: only the ByteLevel pre-tokenizer (GPT-2 style) is implemented`);
  if (pre.add_prefix_space === true) throw new FileFormatError(where, 'pre_tokenizer.add_prefix_space = true is not implemented');
  const vocab = vocabFrom(model.vocab, where);
  const merges = (Array.isArray(model.merges) ? model.merges : []).map((m, i) => mergeFrom(m, i, where));
  addedFrom(json.added_tokens, where, added);
  return withSpecials({ vocab, merges, added }, config, map, label);
}

/** Adds `tokenizer_config.json`'s added tokens and the special-token names to a vocabulary. */
function withSpecials(base: Pick<HfTokenizerSpec, 'vocab' | 'merges' | 'added'>, config: Record<string, unknown>, map: Record<string, unknown>, label: string): HfTokenizerSpec {
  const added: Added = new Map(base.added);
  const decoder = config.added_tokens_decoder;
  if (typeof decoder === 'object' && decoder !== null) {
    addedFrom(Object.entries(decoder).map(([id, t]) => ({ ...(t as object), id: Number(id) })), `${label}/tokenizer_config.json`, added);
  }
  const special = (name: string): string | undefined => tokenName(config[name]) ?? tokenName(map[name]);
  const cls = typeof config[SAVED_CLASS] === 'string' ? config[SAVED_CLASS] : undefined;
  return { vocab: base.vocab, merges: base.merges, added, eos: special('eos_token'), bos: special('bos_token'), pad: special('pad_token'), cls };
}

/** The vocabulary, merges, added tokens and special-token names of a folder. @internal */
export async function readHfTokenizer(files: PretrainedFiles): Promise<HfTokenizerSpec> {
  const config = (await readJsonFile(files, 'tokenizer_config.json')) ?? {};
  const map = (await readJsonFile(files, 'special_tokens_map.json')) ?? {};
  const json = await readJsonFile(files, 'tokenizer.json');
  if (json !== undefined) return specFromTokenizerJson(json, config, map, files.label);
  const vocabJson = await readJsonFile(files, 'vocab.json');
  const mergesTxt = await readText(files, 'merges.txt');
  if (vocabJson === undefined || mergesTxt === undefined) throw new FileFormatError(files.label, 'no tokenizer.json, and no vocab.json + merges.txt');
  const vocab = vocabFrom(vocabJson, `${files.label}/vocab.json`);
  const lines = mergesTxt.split('\n').map((l) => l.replace(/\r$/, ''));
  const merges = lines.filter((l, i) => l !== '' && !(i === 0 && l.startsWith('#version'))).map((l, i) => mergeFrom(l, i, `${files.label}/merges.txt`));
  const added: Added = new Map();
  for (const [content, id] of vocabFrom((await readJsonFile(files, 'added_tokens.json')) ?? {}, `${files.label}/added_tokens.json`)) added.set(id, { content, special: true });
  return withSpecials({ vocab, merges, added }, config, map, files.label);
}

/** Ids of the special tokens and the vocabulary size, as {@link Gpt2Tokenizer} documents. @internal */
export function gpt2Vocabulary(spec: HfTokenizerSpec, label: string): Gpt2Vocabulary {
  const idOf = (content: string | undefined): number | undefined => {
    if (content === undefined) return undefined;
    for (const [id, t] of spec.added) if (t.content === content) return id;
    return spec.vocab.get(content);
  };
  const eosId = idOf(spec.eos ?? '<|endoftext|>');
  if (eosId === undefined) throw new FileFormatError(label, `no EOS token: eos_token ${JSON.stringify(spec.eos ?? '<|endoftext|>')} is not in the vocabulary`);
  let maxId = -1;
  for (const id of spec.vocab.values()) maxId = Math.max(maxId, id);
  for (const id of spec.added.keys()) maxId = Math.max(maxId, id);
  const pad = idOf(spec.pad);
  const padAppended = pad === undefined || pad === eosId;
  const padId = padAppended ? maxId + 1 : pad;
  const added = new Map(spec.added);
  if (!added.has(eosId)) added.set(eosId, { content: spec.eos ?? '<|endoftext|>', special: true });
  return {
    bpe: new ByteLevelBpe(spec.vocab, spec.merges, label), added, vocabSize: padAppended ? maxId + 2 : maxId + 1,
    eosId, bosId: idOf(spec.bos) ?? eosId, padId, padAppended,
  };
}

/** See {@link Gpt2Tokenizer.fromPretrained}. @internal */
export async function loadGpt2Tokenizer(source: string, options: HubOptions = {}): Promise<Gpt2Tokenizer> {
  const files = await openPretrained(source, options);
  return new Gpt2Tokenizer(gpt2Vocabulary(await readHfTokenizer(files), files.label));
}

function isByteTokenizer(spec: HfTokenizerSpec): boolean {
  if (spec.merges.length > 0 || spec.vocab.size !== 256) return false;
  if (!BYTE_TO_CHAR.every((c, b) => spec.vocab.get(c) === b)) return false;
  const names = ['<|eos|>', '<|pad|>', '<|bos|>'];
  return spec.added.size === 3 && names.every((n, i) => spec.added.get(256 + i)?.content === n);
}

/**
 * Reads whatever tokenizer a folder (or Hub repo) holds: a {@link ByteTokenizer} or a
 * {@link BpeTokenizer} written by this library, else a {@link Gpt2Tokenizer} over its byte-level BPE.
 * Node.js only.
 * @param source - a folder, or a Hub repo id.
 * @param options - Hub revision, cache and token.
 * @throws {@link FileFormatError} when there are no tokenizer files or they are not a byte-level BPE.
 */
export async function loadTokenizer(source: string, options: HubOptions = {}): Promise<Tokenizer> {
  const files = await openPretrained(source, options);
  const spec = await readHfTokenizer(files);
  if (isByteTokenizer(spec)) return new ByteTokenizer();
  const vocabulary = gpt2Vocabulary(spec, files.label);
  return spec.cls === 'BpeTokenizer' ? new BpeTokenizer(vocabulary) : new Gpt2Tokenizer(vocabulary);
}

function byteSpec(): HfTokenizerSpec {
  const added: Added = new Map([[256, { content: '<|eos|>', special: true }], [257, { content: '<|pad|>', special: true }], [258, { content: '<|bos|>', special: true }]]);
  return { vocab: new Map(BYTE_TO_CHAR.map((c, b) => [c, b])), merges: [], added, eos: '<|eos|>', bos: '<|bos|>', pad: '<|pad|>' };
}

function gpt2Spec(v: Gpt2Vocabulary): HfTokenizerSpec {
  const added: Added = new Map(v.added);
  if (v.padAppended && !added.has(v.padId)) added.set(v.padId, { content: '<|pad|>', special: true });
  const name = (id: number): string | undefined => added.get(id)?.content ?? v.bpe.token(id);
  return { vocab: new Map(v.bpe.vocab), merges: v.bpe.merges.map(([a, b]) => [a, b]), added, eos: name(v.eosId), bos: name(v.bosId), pad: name(v.padId) };
}

/**
 * The tokenizer files of a {@link ByteTokenizer}, {@link Gpt2Tokenizer} or {@link BpeTokenizer}, by file name. @internal
 * @throws {@link InputError} for another tokenizer class (it has no Hugging Face form).
 */
export function tokenizerFiles(tokenizer: Tokenizer, maxLength?: number): CheckpointFiles {
  let spec: HfTokenizerSpec;
  if (tokenizer instanceof ByteTokenizer) spec = byteSpec();
  else if (tokenizer instanceof Gpt2Tokenizer) spec = gpt2Spec(tokenizer.vocabulary());
  else if (tokenizer instanceof BpeTokenizer) spec = { ...gpt2Spec(tokenizer.vocabulary()), cls: 'BpeTokenizer' };
  else throw new InputError('tokenizer', tokenizer.constructor?.name ?? typeof tokenizer, 'only ByteTokenizer, Gpt2Tokenizer and BpeTokenizer can be saved as Hugging Face files');
  const vocab: Record<string, number> = {};
  for (const [t, id] of [...spec.vocab].sort((a, b) => a[1] - b[1])) vocab[t] = id;
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  const { config, specialMap } = tokenizerConfigJson(spec, maxLength);
  return {
    'tokenizer.json': json(tokenizerJson(spec, vocab)),
    'vocab.json': `${JSON.stringify(vocab)}\n`,
    'merges.txt': `#version: 0.2\n${spec.merges.map(([a, b]) => `${a} ${b}\n`).join('')}`,
    'tokenizer_config.json': json(config),
    'special_tokens_map.json': json(specialMap),
  };
}

/** Writes {@link tokenizerFiles} into `dir`, atomically as a whole (other files in `dir` are kept). @internal */
export async function saveTokenizerFiles(dir: string, tokenizer: Tokenizer): Promise<void> {
  await writeDirAtomic(dir, tokenizerFiles(tokenizer));
}
