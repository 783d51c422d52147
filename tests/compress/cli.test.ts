import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TransformerPolicy } from '../../src/models/policy';
import { RewardModel } from '../../src/reward/reward-model';
import { runCompressCli } from '../../src/compress/cli';
import { countZeros } from '../../src/compress/sparsity';
import { decodeSafetensors } from '../../src/io/safetensors';
import { readFile } from 'node:fs/promises';
import { setupBackend } from '../helpers/backend';

let dir: string;
beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(join(tmpdir(), 'rlhf-compress-cli-'));
  await new TransformerPolicy({ vocabSize: 259, contextLength: 16, nLayer: 1, nHead: 2, dModel: 16, seed: 2 }).save(join(dir, 'policy'));
  await new RewardModel({ vocabSize: 259, contextLength: 16, nLayer: 1, nHead: 2, dModel: 16, seed: 2 }).save(join(dir, 'rm'));
  await writeFile(join(dir, 'calib.txt'), 'The jury said it did find that the election was conducted. '.repeat(12));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCompressCli(args, { stdout: (t) => { out += t; }, stderr: (t) => { err += t; } });
  return { code, out, err };
}

describe('tfjs-rlhf-compress', () => {
  it('sparsegpt+int8 on a policy: writes the model, prints perplexity, zeros and bytes, reports progress', async () => {
    const r = await cli([join(dir, 'policy'), '--method', 'sparsegpt+int8', '--calibration', join(dir, 'calib.txt'), '--samples', '4', '--out', join(dir, 'out')]);
    expect(r.err).toContain('prune');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/perplexity\s+\d+\.\d+\s+\d+\.\d+/);
    expect(r.out).toMatch(/zeros \(block matrices\)\s+0\.0%\s+5\d\.\d%/);
    const p = await TransformerPolicy.load(join(dir, 'out'));
    expect(countZeros(p).zeros).toBeGreaterThanOrEqual(countZeros(p).total / 2);
    expect(decodeSafetensors(await readFile(join(dir, 'out/model.safetensors'))).tensors['h.0.mlp.c_fc.weight']?.dtype).toBe('int8');
    p.dispose();
  });

  it('a policy saved with its own BPE tokenizer is evaluated with it; --embeddings stores wte as int8', async () => {
    const { BpeTokenizer } = await import('../../src/tokenizers/bpe');
    const tok = BpeTokenizer.train(['The jury said it did find that the election was conducted.'], { vocabSize: 300 });
    const bpe = join(dir, 'bpe');
    await new TransformerPolicy({ vocabSize: tok.vocabSize, contextLength: 16, nLayer: 1, nHead: 2, dModel: 16, seed: 2 }).save(bpe);
    await tok.savePretrained(bpe);
    const r = await cli([bpe, '--method', 'int8', '--embeddings', '--calibration', join(dir, 'calib.txt'), '--out', join(dir, 'bpe-out')]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('quantize 6/6'); // 4 block matrices + wte + wpe
    expect(r.out).toMatch(/perplexity\s+\d+\.\d+\s+\d+\.\d+/); // GPT-2 ids (up to 50k) would not fit this 300-token model
    expect(decodeSafetensors(await readFile(join(dir, 'bpe-out/model.safetensors'))).tensors['wte.weight']?.dtype).toBe('int8');
    expect((await cli([bpe, '--method', 'int8', '--embeddings=yes', '--out', join(dir, 'x')])).code).toBe(2);
  });

  it('magnitude 2:4 on a reward model (no perplexity: "-")', async () => {
    const r = await cli([join(dir, 'rm'), '--method=magnitude', '--pattern=2:4', '-o', join(dir, 'rm-out')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/perplexity\s+-\s+-/);
    const rm = await RewardModel.load(join(dir, 'rm-out'));
    expect(countZeros(rm).zeros).toBe(countZeros(rm).total / 2);
    rm.dispose();
  });

  it('usage errors exit 2, failures exit 1, --help exits 0', async () => {
    expect((await cli(['--help'])).code).toBe(0);
    expect((await cli([join(dir, 'policy'), '--out', join(dir, 'x')])).code).toBe(2);
    expect((await cli([join(dir, 'policy'), '--method', 'zip', '--out', join(dir, 'x')])).code).toBe(2);
    expect((await cli([join(dir, 'policy'), '--method', 'int8', '--bogus', '1', '--out', join(dir, 'x')])).code).toBe(2);
    const missing = await cli([join(dir, 'nope'), '--method', 'int8', '--out', join(dir, 'x')]);
    expect(missing.code).toBe(1);
    const noCalib = await cli([join(dir, 'policy'), '--method', 'sparsegpt', '--out', join(dir, 'x')]);
    expect(noCalib.code).toBe(1);
    expect(noCalib.err).toContain('PruneOptions.calibration');
  });
});
