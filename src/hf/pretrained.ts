/**
 * Hugging Face GPT-2 folders <-> {@link TransformerPolicy} and {@link RewardModel}.
 *
 * In: `config.json` (GPT2Config names), `model.safetensors` or sharded weights (F32/F16/BF16), names
 * with or without `transformer.`, `generation_config.json` -> generate defaults. A folder saved by this
 * library's own `save` loads too.
 *
 * Out: what `transformers`' `save_pretrained` writes: `config.json` (`architectures`, `model_type`,
 * `torch_dtype`/`dtype` float32), `model.safetensors` with `transformer.`-prefixed trunk names,
 * `generation_config.json`, and the tokenizer files when a tokenizer is given; atomic as a whole.
 *
 * Reward models are `GPT2ForSequenceClassification` with `num_labels = 1`: `score.weight` `[1, d]`, no
 * bias. Transformers reads the score at the rightmost token whose id is not `pad_token_id`; this
 * library at the last position its mask marks real. They agree whenever real text does not end with
 * the pad id, which holds for this library's tokenizers (PAD is never EOS and never produced by
 * `encode`), so `pad_token_id` is written as the tokenizer's pad id. The head bias (which Hugging Face
 * lacks) and this library's normalisation `gain * raw + bias` are folded into OpenRLHF's `mean` / `std`
 * (`(r - mean) / std`, applied when OpenRLHF normalises rewards) and kept exactly in a `tfjs_rlhf` block.
 * Node.js only.
 * @module
 */
import { tf } from '../tf';
import { ConfigError, InputError } from '../errors';
import { readFileBytes } from '../io/atomic';
import { writeDirAtomic, type CheckpointFiles } from '../io/atomic-dir';
import { checkFiniteTensors } from '../io/finite';
import type { NamedTensorData } from '../io/safetensors';
import { resolveConfig, type TransformerConfig } from '../models/config';
import { TransformerPolicy } from '../models/policy';
import { RewardModel } from '../reward/reward-model';
import type { Tokenizer } from '../tokenizers/tokenizer';
import { fromGpt2Config, generationDefaults, toGenerationConfig, toGpt2Config, type SpecialIds } from './config';
import type { HubOptions } from './hub';
import { openPretrained, readJsonFile, type PretrainedFiles } from './source';
import { tokenizerFiles } from './tokenizer-files';
import { encodeHfWeights, growRows, HF_WEIGHTS, readHfTensors, tensorsForConfig } from './weights';

/** Options of `fromPretrained` (policy and reward model). */
export interface FromPretrainedOptions extends HubOptions {
  /** Grow the embedding to at least this many ids (e.g. `tokenizer.vocabSize` when the tokenizer appends a pad id); new rows start at the mean embedding. Default: the file's `vocab_size`. */
  vocabSize?: number;
  /** Dropout rate of training methods (`config.json`'s `*_pdrop` are not used). Default `0`. */
  dropout?: number;
  /** Seed of the policy's own random stream. Default: the file's `tfjs_rlhf.seed`, else `0`. */
  seed?: number;
}

/** Options of `savePretrained`. */
export interface SavePretrainedOptions {
  /** Written alongside (tokenizer.json, vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json); its EOS/BOS/PAD ids go into config.json. Default: none. */
  tokenizer?: Tokenizer;
}

interface Loaded {
  config: TransformerConfig;
  values: Map<string, tf.Tensor>;
  info: ReturnType<typeof fromGpt2Config>;
  files: PretrainedFiles;
  /** `score.weight` of a GPT2ForSequenceClassification, if present. */
  score: NamedTensorData | undefined;
}

async function loadTrunk(source: string, o: FromPretrainedOptions): Promise<Loaded | { own: Uint8Array; config: Record<string, unknown>; file: string }> {
  const files = await openPretrained(source, o);
  const raw = await readJsonFile(files, 'config.json', true);
  if (raw.model_type === undefined && typeof raw.vocabSize === 'number') { // this library's own folder
    const file = await files.file(HF_WEIGHTS);
    if (file === undefined) throw new ConfigError('source', source, 'has our config.json but no model.safetensors');
    return { own: await readFileBytes(file), config: raw, file };
  }
  const info = fromGpt2Config(raw, `${files.label}/config.json`);
  const tensors = await readHfTensors(files);
  checkFiniteTensors(tensors, files.label);
  const score = tensors.get('score.weight');
  tensors.delete('score.weight'); // a classifier's head is not part of the trunk
  const vocab = Math.max(info.config.vocabSize, o.vocabSize ?? 0);
  for (const name of ['wte.weight', 'lm_head.weight']) {
    const t = tensors.get(name);
    if (t !== undefined && t.shape[0] === info.config.vocabSize) tensors.set(name, growRows(t, vocab));
  }
  const config: TransformerConfig = { ...info.config, vocabSize: vocab, dropout: o.dropout ?? 0, seed: o.seed ?? info.config.seed ?? 0 };
  const resolved = resolveConfig(config);
  return { config, values: tensorsForConfig(tensors, resolved, [], files.label), info, files, score };
}

/** See {@link TransformerPolicy.fromPretrained}. @internal */
export async function policyFromPretrained(source: string, options: FromPretrainedOptions = {}): Promise<TransformerPolicy> {
  const loaded = await loadTrunk(source, options);
  if ('own' in loaded) return TransformerPolicy.fromSafetensors(loaded.own, loaded.config as unknown as TransformerConfig, loaded.file);
  let policy: TransformerPolicy;
  try {
    policy = new TransformerPolicy(loaded.config, loaded.values);
  } finally {
    tf.dispose([...loaded.values.values()]);
  }
  const gen = await readJsonFile(loaded.files, 'generation_config.json');
  if (gen !== undefined) policy.generationDefaults = generationDefaults(gen, `${loaded.files.label}/generation_config.json`);
  else if (loaded.info.eosTokenId !== undefined) policy.generationDefaults = { stopTokens: [loaded.info.eosTokenId] };
  return policy;
}

function specialIds(tokenizer: Tokenizer | undefined, vocabSize: number): SpecialIds {
  if (tokenizer === undefined) return {};
  if (tokenizer.vocabSize > vocabSize) {
    throw new InputError('tokenizer.vocabSize', tokenizer.vocabSize, `exceeds the model's vocabulary of ${vocabSize} ids`);
  }
  return { bos: tokenizer.bosId, eos: tokenizer.eosId, pad: tokenizer.padId };
}

function withTokenizer(files: CheckpointFiles, tokenizer: Tokenizer | undefined, contextLength: number): CheckpointFiles {
  return tokenizer === undefined ? files : { ...files, ...tokenizerFiles(tokenizer, contextLength) };
}

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

/** See {@link TransformerPolicy.savePretrained}. @internal */
export async function savePolicyPretrained(policy: TransformerPolicy, dir: string, options: SavePretrainedOptions = {}): Promise<void> {
  const c = policy.config;
  const ids = specialIds(options.tokenizer, c.vocabSize);
  const heads = new Map<string, tf.Tensor>();
  if (!c.tieEmbeddings) heads.set('lm_head.weight', policy.model.p('lm_head.weight'));
  const files: CheckpointFiles = {
    'config.json': json(toGpt2Config(c, 'GPT2LMHeadModel', ids)),
    'generation_config.json': json(toGenerationConfig(policy.generationDefaults, ids)),
    [HF_WEIGHTS]: encodeHfWeights(policy.model.params, heads),
  };
  await writeDirAtomic(dir, withTokenizer(files, options.tokenizer, c.contextLength));
}

/** See {@link RewardModel.fromPretrained}. @internal */
export async function rewardFromPretrained(source: string, options: FromPretrainedOptions = {}): Promise<RewardModel> {
  const loaded = await loadTrunk(source, options);
  if ('own' in loaded) {
    const { kind: _k, normalization: _n, ...trunk } = loaded.config;
    return RewardModel.fromSafetensors(loaded.own, trunk as unknown as TransformerConfig, loaded.file);
  }
  const { score } = loaded;
  const d = loaded.config.dModel;
  if (score === undefined || score.shape.length !== 2 || score.shape[0] !== 1 || score.shape[1] !== d) {
    tf.dispose([...loaded.values.values()]);
    throw new ConfigError(`${loaded.files.label}: score.weight`, score?.shape ?? 'missing', `a reward model needs a GPT2ForSequenceClassification head of shape [1, ${d}] (num_labels = 1)`);
  }
  const extras = loaded.info.extras;
  const headBias = typeof extras.head_bias === 'number' ? extras.head_bias : 0;
  loaded.values.set('score.weight', tf.tensor2d(score.data as Float32Array, [1, d]));
  loaded.values.set('score.bias', tf.tensor1d([headBias]));
  let rm: RewardModel;
  try {
    rm = new RewardModel(loaded.config, loaded.values);
  } finally {
    tf.dispose([...loaded.values.values()]);
  }
  const norm = extras.normalization as { gain?: unknown; bias?: unknown } | undefined;
  const { rewardMean: mean, rewardStd: std } = loaded.info;
  if (typeof norm?.gain === 'number' && typeof norm.bias === 'number') rm.setNormalization({ gain: norm.gain, bias: norm.bias });
  else if (mean !== undefined && std !== undefined && std > 0) rm.setNormalization({ gain: 1 / std, bias: -mean / std });
  return rm;
}

/** See {@link RewardModel.savePretrained}. @internal */
export async function saveRewardPretrained(rm: RewardModel, dir: string, options: SavePretrainedOptions = {}): Promise<void> {
  const c = rm.config;
  const ids = specialIds(options.tokenizer, c.vocabSize);
  const b = (await rm.headBias.data())[0] as number;
  const { gain, bias } = rm.normalization;
  // gain * (w.h + b) + bias = (w.h - mean) / std  with  std = 1 / gain, mean = -(b + bias / gain)
  const extra = {
    num_labels: 1, id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 }, problem_type: 'regression',
    mean: -(b + bias / gain), std: 1 / gain,
    tfjs_rlhf: { head_bias: b, normalization: { gain, bias } },
  };
  const files: CheckpointFiles = {
    'config.json': json(toGpt2Config(c, 'GPT2ForSequenceClassification', ids, extra)),
    [HF_WEIGHTS]: encodeHfWeights(rm.trunk.params, new Map([['score.weight', rm.headWeight]])),
  };
  await writeDirAtomic(dir, withTokenizer(files, options.tokenizer, c.contextLength));
}
