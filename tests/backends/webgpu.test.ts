// WebGPU in Node through Dawn (the `webgpu` package) on this machine's software adapter: Mesa's
// llvmpipe through Dawn's OpenGL ES backend. It is slow (every new shape compiles shaders) but it
// runs the same WGSL kernels a real GPU runs, so it checks the library's numerics and memory on
// tfjs-backend-webgpu. The whole file is skipped, with the reason printed, only where no adapter can
// be had (no Mesa EGL/GLES libraries: see docs/backends.md).
import { execFile, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { useBackend } from '../../src/backends/use-backend';
import { releaseWebGpu, webgpuAdapter } from '../../src/backends/webgpu-node';
import { BackendError } from '../../src/errors';
import { TransformerPolicy } from '../../src/models/policy';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { SFTTrainer } from '../../src/sft';
import { PPOTrainer } from '../../src/ppo/ppo-trainer';
import type { LogLevel } from '../../src/logging/logger';

const root = resolve(__dirname, '../..');
const tok = new ByteTokenizer();
const PROMPTS = [tok.encode('Hi'), tok.encode('Yes no')];
const RESPONSES = [tok.encode(' there!'), tok.encode(' maybe')];

let reference: { logProbs: number[][]; cached: number[][]; policy: TransformerPolicy; sftLosses: number[] } | undefined;
const DEMOS = [{ prompt: 'A:', completion: ' yes' }, { prompt: 'B:', completion: ' no' }];

/** Per-step SFT losses of a fresh seeded tiny policy on the current backend. */
async function sftLosses(): Promise<{ losses: number[]; policy: TransformerPolicy; trainer: SFTTrainer }> {
  const policy = new TransformerPolicy({ vocabSize: tok.vocabSize, contextLength: 24, nLayer: 1, nHead: 2, dModel: 16, seed: 1 });
  const trainer = new SFTTrainer({ policy, tokenizer: tok, learningRate: 1e-2, batchSize: 2, seed: 1 });
  const history = await trainer.train(DEMOS, { epochs: 8 });
  return { losses: history.map((h) => h.loss), policy, trainer };
}
let skipReason = '';

beforeAll(async () => {
  await useBackend('wasm');
  const policy = new TransformerPolicy({ vocabSize: tok.vocabSize, contextLength: 32, nLayer: 2, nHead: 2, dModel: 32, seed: 3 });
  const logProbs = await policy.logProbs(PROMPTS, RESPONSES);
  const cached = (await policy.generate(PROMPTS, { maxNewTokens: 6, seed: 5 })).tokens;
  const wasmRun = await sftLosses();
  wasmRun.trainer.dispose();
  wasmRun.policy.dispose();
  reference = { logProbs, cached, policy, sftLosses: wasmRun.losses };
  try {
    await useBackend('webgpu');
  } catch (e) {
    skipReason = `no WebGPU adapter on this machine (${(e as Error).message})`;
    // Printed so a skipped run says why (vitest shows the skip, not the reason).
    process.stderr.write(`tests/backends/webgpu.test.ts skipped: ${skipReason}\n`);
  }
});

afterAll(async () => {
  await useBackend('wasm');
  releaseWebGpu();
});

const maxAbsDiff = (a: number[][], b: number[][]) => Math.max(...a.flat().map((v, i) => Math.abs(v - (b.flat()[i] as number))));

describe('WebGPU backend in Node (software adapter)', () => {
  it('reports the adapter it chose', (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    expect(tf.getBackend()).toBe('webgpu');
    const adapter = webgpuAdapter();
    expect(adapter?.software).toBe(true); // llvmpipe here; a real GPU reports false
    expect(adapter?.device).not.toBe('');
  });

  it('gives the same per-token log-probs as wasm (1e-3) and leaks no tensors', async (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    const policy = reference!.policy;
    const before = tf.memory().numTensors;
    const lp = await policy.logProbs(PROMPTS, RESPONSES);
    expect(tf.memory().numTensors).toBe(before);
    expect(lp.map((r) => r.length)).toEqual(RESPONSES.map((r) => r.length));
    expect(maxAbsDiff(lp, reference!.logProbs)).toBeLessThan(1e-3);
  });

  it('generates the same tokens as wasm for a seed, with and without the KV cache', async (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    const policy = reference!.policy;
    const before = tf.memory().numTensors;
    const cached = await policy.generate(PROMPTS, { maxNewTokens: 6, seed: 5 });
    const uncached = await policy.generate(PROMPTS, { maxNewTokens: 6, seed: 5, useCache: false });
    expect(tf.memory().numTensors).toBe(before);
    expect(cached.tokens).toEqual(reference!.cached);
    expect(uncached.tokens).toEqual(reference!.cached);
  });

  it('SFT lowers the loss along the same curve as wasm, and a PPO step runs, without leaks', async (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    const before = tf.memory().numTensors;
    const { losses, policy, trainer: sft } = await sftLosses();
    expect(losses.at(-1)!).toBeLessThan(losses[0]! - 0.5);
    losses.forEach((l, i) => expect(Math.abs(l - reference!.sftLosses[i]!)).toBeLessThan(1e-3 * Math.abs(l)));
    const ppo = new PPOTrainer({ policy, reward: (rows) => rows.map((r) => (r.response.includes('y') ? 1 : 0)),
      tokenizer: tok, maxNewTokens: 12, batchSize: 2, miniBatchSize: 2, learningRate: 1e-4, seed: 1 });
    const stats = await ppo.step(['A:', 'B:']);
    expect(Number.isFinite(stats['objective/kl'])).toBe(true);
    expect(Number.isFinite(stats['loss/policy_avg'])).toBe(true);
    sft.dispose();
    ppo.dispose();
    policy.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('WebGPU backend options', () => {
  it('a Dawn backend that does not exist here is a BackendError, and the logger is told nothing was found', async (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    releaseWebGpu();
    await expect(useBackend('webgpu', { webgpu: { dawnFlags: ['backend=d3d12'] } })).rejects.toBeInstanceOf(BackendError);
    const logs: string[] = [];
    await useBackend('webgpu', { webgpu: { dawnFlags: ['backend=opengles'] }, logger: { log: (_l: LogLevel, m: string) => void logs.push(m) } });
    expect(logs.join('\n')).toMatch(/WebGPU adapter: .*software adapter/);
  });

  it("'auto' never picks a software adapter", async () => {
    releaseWebGpu();
    const picked = await useBackend('auto');
    expect(picked).not.toBe('webgpu');
  });

  it('a process that used WebGPU exits by itself (no dispose call)', async (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    const script = `import { useBackend, TransformerPolicy } from 'tfjs-rlhf';
      await useBackend('webgpu');
      const p = new TransformerPolicy({ vocabSize: 16, contextLength: 8, nLayer: 1, nHead: 1, dModel: 8, seed: 1 });
      console.log(JSON.stringify(await p.logProbs([[1, 2]], [[3]])));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: root, timeout: 90_000 });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)[0]).toHaveLength(1);
  });
});

describe('examples/gpu.ts on the software adapter', () => {
  it('with SOFTWARE=1 finds the software WebGPU adapter, prints it, trains and generates', (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    const r = spawnSync('npx', ['tsx', 'examples/gpu.ts'], {
      cwd: root, encoding: 'utf8', timeout: 150_000, env: { ...process.env, QUICK: '1', SOFTWARE: '1', STEPS: '2' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^backend webgpu/m);
    expect(r.stdout).toMatch(/WebGPU adapter: llvmpipe.*, software/);
    expect(r.stdout).toMatch(/generated 320 tokens/);
  }, 200_000);
});
