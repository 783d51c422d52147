// savePretrained -> a folder transformers' GPT2LMHeadModel / GPT2ForSequenceClassification loads. Checked two
// ways: the JS side reads the files back (names, config, dtype metadata) and loads them again; and, where a
// python3 with torch exists, tests/fixtures/hf-gpt2/check_saved.py runs a plain-PyTorch GPT-2 on the folder
// and its log-probs / scores must equal ours. Without python3 + torch those checks are skipped (said below).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setupBackend } from '../helpers/backend';
import { TransformerPolicy } from '../../src/models/policy';
import { RewardModel } from '../../src/reward/reward-model';
import { Gpt2Tokenizer } from '../../src/tokenizers/gpt2';
import { decodeSafetensors } from '../../src/io/safetensors';
import { InputError } from '../../src/errors';

const FIXTURE = resolve(__dirname, '../fixtures/hf-gpt2');
const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as { sequences: number[][]; rewardSequences: number[][] };

/** A python3 that imports torch: $PYTHON, else /usr/bin/python3 (Debian's python3-torch), else python3 on PATH. */
function findTorchPython(): string | undefined {
  for (const py of [process.env.PYTHON, '/usr/bin/python3', 'python3']) {
    if (py === undefined) continue;
    try {
      // find_spec, not import: importing torch takes long on a loaded machine; the check itself imports it.
      execFileSync(py, ['-c', "import importlib.util as u, sys; sys.exit(0 if u.find_spec('torch') and u.find_spec('numpy') else 1)"], { stdio: 'ignore', timeout: 60_000 });
      return py;
    } catch { /* try the next */ }
  }
  return undefined;
}
const PYTHON = findTorchPython();
const NO_TORCH = PYTHON === undefined;
if (NO_TORCH) console.warn('save-pretrained.test: no python3 with torch and numpy here; the PyTorch cross-checks are skipped (the JS-side checks still run)');

function torchCheck(folder: string, sequences: number[][]): { architecture: string; logProbs?: number[][]; scores?: number[] } {
  const out = execFileSync(PYTHON as string, [join(FIXTURE, 'check_saved.py'), folder], { input: JSON.stringify(sequences), encoding: 'utf8', timeout: 300_000 });
  return JSON.parse(out);
}

const maxAbsDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((r, i) => r.map((x, j) => Math.abs(x - (b[i]?.[j] ?? NaN)))));
let dir: string;
let tokenizer: Gpt2Tokenizer;
beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(join(tmpdir(), 'hf-save-'));
  tokenizer = await Gpt2Tokenizer.fromPretrained(join(FIXTURE, 'tiny-gpt2'));
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

const ofSequences = (p: TransformerPolicy, seqs: number[][]) => p.logProbs(seqs.map((s) => s.slice(0, 1)), seqs.map((s) => s.slice(1)));

describe('TransformerPolicy.savePretrained', () => {
  it('writes a GPT2LMHeadModel folder: config, transformer.-names F32 safetensors (format pt), tokenizer files', async () => {
    const policy = await TransformerPolicy.fromPretrained(join(FIXTURE, 'plain-f16'));
    const out = join(dir, 'policy');
    await policy.savePretrained(out, { tokenizer });
    expect((await readdir(out)).sort()).toEqual(['config.json', 'generation_config.json', 'merges.txt', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json']);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', torch_dtype: 'float32', dtype: 'float32', vocab_size: 300, n_positions: 64,
      n_embd: 64, n_layer: 2, n_head: 4, n_inner: 128, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, tie_word_embeddings: true,
      bos_token_id: 298, eos_token_id: 298, pad_token_id: 299,
    });
    const { tensors, metadata } = decodeSafetensors(readFileSync(join(out, 'model.safetensors')));
    expect(metadata).toEqual({ format: 'pt' });
    const names = Object.keys(tensors);
    expect(names).toContain('transformer.h.1.mlp.c_proj.weight');
    expect(names.every((n) => n.startsWith('transformer.'))).toBe(true);
    expect(Object.values(tensors).every((t) => t.dtype === 'float32')).toBe(true);

    const back = await TransformerPolicy.fromPretrained(out);
    expect(maxAbsDiff(await ofSequences(back, expected.sequences), await ofSequences(policy, expected.sequences))).toBe(0);
    expect(back.generationDefaults).toEqual({ stopTokens: [298] });
    back.dispose();
    policy.dispose();
  });

  it.skipIf(NO_TORCH)('PyTorch loads the saved folder and gives the same log-probs (1e-4)', async () => {
    const policy = await TransformerPolicy.fromPretrained(join(dir, 'policy'));
    const torch = torchCheck(join(dir, 'policy'), expected.sequences);
    expect(torch.architecture).toBe('GPT2LMHeadModel');
    expect(maxAbsDiff(await ofSequences(policy, expected.sequences), torch.logProbs as number[][])).toBeLessThan(1e-4);
    policy.dispose();
  });

  it.skipIf(NO_TORCH)('an untied LM head is written as lm_head.weight and loads in PyTorch', async () => {
    const policy = new TransformerPolicy({ vocabSize: 300, contextLength: 16, nLayer: 1, nHead: 2, dModel: 16, tieEmbeddings: false, seed: 3 });
    const out = join(dir, 'untied');
    await policy.savePretrained(out);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.tie_word_embeddings).toBe(false);
    const seqs = [[1, 2, 3, 4, 5], [9, 8, 7]];
    const torch = torchCheck(out, seqs);
    expect(maxAbsDiff(await ofSequences(policy, seqs), torch.logProbs as number[][])).toBeLessThan(1e-4);
    policy.dispose();
  });

  it('refuses a tokenizer larger than the model', async () => {
    const policy = new TransformerPolicy({ vocabSize: 100, contextLength: 8, nLayer: 1, nHead: 1, dModel: 8 });
    await expect(policy.savePretrained(join(dir, 'small'), { tokenizer })).rejects.toThrow(InputError);
    expect(existsSync(join(dir, 'small'))).toBe(false);
    policy.dispose();
  });
});

describe('RewardModel.savePretrained (GPT2ForSequenceClassification)', () => {
  it('writes score.weight [1, d] without bias, pad_token_id, and OpenRLHF mean/std; reloads identically', async () => {
    const rm = await RewardModel.fromPretrained(join(FIXTURE, 'reward-f16'));
    rm.headBias.assign(rm.headBias.add(0.75));
    rm.setNormalization({ gain: 2, bias: -1 });
    const out = join(dir, 'rm');
    await rm.savePretrained(out, { tokenizer });
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ architectures: ['GPT2ForSequenceClassification'], num_labels: 1, pad_token_id: 299, id2label: { 0: 'LABEL_0' } });
    expect(config.std).toBeCloseTo(0.5, 12);
    expect(config.mean).toBeCloseTo(-(0.75 - 0.5), 6);
    const { tensors } = decodeSafetensors(readFileSync(join(out, 'model.safetensors')));
    expect(tensors['score.weight']?.shape).toEqual([1, 64]);
    expect(tensors['score.bias']).toBeUndefined();

    const rows = expected.rewardSequences;
    const [p, r] = [rows.map((s) => s.slice(0, 2)), rows.map((s) => s.slice(2))];
    const back = await RewardModel.fromPretrained(out);
    expect(await back.score(p, r)).toEqual(await rm.score(p, r));
    back.dispose();
    rm.dispose();
  });

  it.skipIf(NO_TORCH)('PyTorch scores = our raw score minus the head bias; (score - mean) / std = our normalised score', async () => {
    const rm = await RewardModel.fromPretrained(join(dir, 'rm'));
    const rows = expected.rewardSequences.map((s) => [...s, 299, 299]); // right-padded, as a batch would be
    const torch = torchCheck(join(dir, 'rm'), rows);
    const config = JSON.parse(readFileSync(join(dir, 'rm', 'config.json'), 'utf8'));
    const seqs = expected.rewardSequences;
    const raw = await rm.scoreRaw(seqs.map((s) => s.slice(0, 2)), seqs.map((s) => s.slice(2)));
    const norm = await rm.score(seqs.map((s) => s.slice(0, 2)), seqs.map((s) => s.slice(2)));
    torch.scores!.forEach((s, i) => {
      expect(Math.abs(s - (raw[i]! - 0.75))).toBeLessThan(1e-4);
      expect(Math.abs((s - config.mean) / config.std - norm[i]!)).toBeLessThan(1e-4);
    });
    rm.dispose();
  });
});
