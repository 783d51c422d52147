// Hugging Face GPT-2 folders in: the tiny random GPT-2 of tests/fixtures/hf-gpt2 (made by make_fixture.py,
// whose log-probs come from a plain-PyTorch GPT-2) in every layout must give PyTorch's log-probs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';
import { TransformerPolicy } from '../../src/models/policy';
import { RewardModel } from '../../src/reward/reward-model';
import { ConfigError, FileFormatError } from '../../src/errors';

const FIXTURE = resolve(__dirname, '../fixtures/hf-gpt2');
const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as {
  sequences: number[][]; logProbs: Record<string, number[][]>; rewardSequences: number[][]; rewards: number[];
};

beforeAll(async () => { await setupBackend(); });

async function logProbsOf(policy: TransformerPolicy, sequences: number[][]): Promise<number[][]> {
  return policy.logProbs(sequences.map((s) => s.slice(0, 1)), sequences.map((s) => s.slice(1)));
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((x, j) => { m = Math.max(m, Math.abs(x - (b[i]?.[j] ?? NaN))); }));
  return Number.isNaN(m) ? Infinity : m;
}

describe('TransformerPolicy.fromPretrained (local folders)', () => {
  it.each([
    ['tiny-gpt2', 'transformer.-prefixed names, F32'],
    ['plain-f16', 'unprefixed names with attn.bias buffers, F16'],
    ['sharded-bf16', 'sharded index, BF16'],
  ])('%s (%s) matches the PyTorch log-probs within 1e-4', async (name) => {
    const policy = await expectNoLeaks(() => TransformerPolicy.fromPretrained(join(FIXTURE, name)), { kept: 2 * 12 + 4 });
    expect(policy.config).toMatchObject({ vocabSize: 300, contextLength: 64, nLayer: 2, nHead: 4, dModel: 64, dMlp: 128, tieEmbeddings: true });
    const got = await expectNoLeaks(() => logProbsOf(policy, expected.sequences));
    const want = expected.logProbs[name] as number[][];
    expect(got.map((r) => r.length)).toEqual(want.map((r) => r.length));
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
    policy.dispose();
  });

  it('the three copies differ by their rounding only, so the test can tell them apart', () => {
    const d = maxAbsDiff(expected.logProbs['tiny-gpt2'] as number[][], expected.logProbs['sharded-bf16'] as number[][]);
    expect(d).toBeGreaterThan(1e-3);
  });

  it('reads generation_config.json into generate defaults', async () => {
    const policy = await TransformerPolicy.fromPretrained(join(FIXTURE, 'tiny-gpt2'));
    expect(policy.generationDefaults).toEqual({ temperature: 0.7, topK: 20, topP: 0.9, maxNewTokens: 12, stopTokens: [298] });
    const out = await policy.generate([[268, 220]], { seed: 1 });
    expect(out.tokens[0]!.length).toBeLessThanOrEqual(12);
    const greedy = await policy.generate([[268, 220]], { temperature: 0, maxNewTokens: 3 }); // options override defaults
    expect(greedy.tokens[0]).toHaveLength(3);
    policy.dispose();
  });

  it('grows the vocabulary on request (new rows = the mean embedding)', async () => {
    const policy = await TransformerPolicy.fromPretrained(join(FIXTURE, 'tiny-gpt2'), { vocabSize: 302 });
    expect(policy.config.vocabSize).toBe(302);
    const wte = await policy.model.p('wte.weight').array() as number[][];
    const mean = wte[0]!.map((_, j) => wte.slice(0, 300).reduce((a, r) => a + r[j]!, 0) / 300);
    wte[301]!.forEach((x, j) => expect(x).toBeCloseTo(mean[j]!, 5));
    policy.dispose();
  });
});

describe('fromPretrained on folders saved by this library (save / load format)', () => {
  it('a policy and a reward model saved with save() load unchanged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-own-'));
    const policy = new TransformerPolicy({ vocabSize: 40, contextLength: 16, nLayer: 1, nHead: 2, dModel: 16, seed: 5 });
    await policy.save(join(dir, 'policy'));
    const back = await TransformerPolicy.fromPretrained(join(dir, 'policy'));
    const seqs = [[1, 2, 3, 4], [5, 6, 7]];
    expect(await logProbsOf(back, seqs)).toEqual(await logProbsOf(policy, seqs));
    const reward = RewardModel.fromPolicy(policy);
    reward.setNormalization({ gain: 3, bias: 1 });
    await reward.save(join(dir, 'rm'));
    const rmBack = await RewardModel.fromPretrained(join(dir, 'rm'));
    expect(await rmBack.score([[1, 2]], [[3]])).toEqual(await reward.score([[1, 2]], [[3]]));
    [policy, back, reward, rmBack].forEach((m) => m.dispose());
    await rm(dir, { recursive: true, force: true });
  });
});

describe('RewardModel.fromPretrained (GPT2ForSequenceClassification)', () => {
  it('scores like PyTorch: the rightmost non-pad token, score.weight [1, d], no bias', async () => {
    const rm = await RewardModel.fromPretrained(join(FIXTURE, 'reward-f16'));
    const rows = expected.rewardSequences;
    const scores = await rm.score(rows.map((s) => s.slice(0, 2)), rows.map((s) => s.slice(2)));
    scores.forEach((s, i) => expect(Math.abs(s - expected.rewards[i]!)).toBeLessThan(1e-4));
    expect(await rm.headBias.data()).toEqual(new Float32Array([0]));
    rm.dispose();
  });

  it('refuses an LM folder as a reward model (no score head)', async () => {
    await expect(RewardModel.fromPretrained(join(FIXTURE, 'tiny-gpt2'))).rejects.toThrow(/score\.weight/);
  });
});

describe('fromPretrained errors', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'hf-bad-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  async function withConfig(patch: Record<string, unknown>): Promise<string> {
    const d = join(dir, Math.random().toString(16).slice(2));
    await cp(join(FIXTURE, 'tiny-gpt2'), d, { recursive: true });
    const cfg = JSON.parse(await readFile(join(d, 'config.json'), 'utf8'));
    await writeFile(join(d, 'config.json'), JSON.stringify({ ...cfg, ...patch }));
    return d;
  }

  it.each([
    [{ model_type: 'llama', architectures: ['LlamaForCausalLM'] }, /model_type = "llama".*only GPT-2/],
    [{ architectures: ['GPT2ForTokenClassification'] }, /architectures/],
    [{ activation_function: 'relu' }, /activation_function = "relu"/],
    [{ scale_attn_by_inverse_layer_idx: true }, /scale_attn_by_inverse_layer_idx/],
  ])('config %j -> ConfigError', async (patch, message) => {
    const d = await withConfig(patch);
    const err = await TransformerPolicy.fromPretrained(d).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err)).toMatch(message);
    expect(String(err)).toContain('config.json');
  });

  it('a config that disagrees with the weights -> FileFormatError naming the tensor', async () => {
    const d = await withConfig({ n_inner: 256 });
    await expect(TransformerPolicy.fromPretrained(d)).rejects.toThrow(FileFormatError);
    await expect(TransformerPolicy.fromPretrained(d)).rejects.toThrow(/mlp\.c_fc\.(weight|bias).*config\.json needs \[(64,)?256\]/);
  });

  it('a missing shard -> FileFormatError naming it', async () => {
    const d = join(dir, 'sharded');
    await cp(join(FIXTURE, 'sharded-bf16'), d, { recursive: true });
    await rm(join(d, 'model-00002-of-00002.safetensors'));
    await expect(TransformerPolicy.fromPretrained(d)).rejects.toThrow(/model-00002-of-00002\.safetensors: no such file/);
  });

  it('neither a folder nor a repo id -> ConfigError naming source', async () => {
    await expect(TransformerPolicy.fromPretrained('./no/such/folder')).rejects.toThrow(ConfigError);
  });
});
