// `generate` with `workers`: rows split into shards, the main thread decoding one and worker threads the
// others, their random draws scheduled so that every row gets exactly what it gets in-process (same
// tokens; log-probs equal up to float rounding from each shard's own left padding). Worker replicas
// follow the policy's weights; no leaks; a worker that fails raises WorkerError and the next call works.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { calculatorTool } from '../../src/tools/calculator';
import { ConfigError, WorkerError } from '../../src/errors';
import type { GenerateOptions, GenerateResult } from '../../src/generation/generate';
import type { GenerationPool } from '../../src/parallel/gen-pool';
import { setupBackend } from '../helpers/backend';

beforeAll(setupBackend);

const tok = new ByteTokenizer();
const prompts = ['hi', 'say it', 'go on now', 'w', 'ok then', 'and so', 'yes', 'a b c d'].map((p) => tok.encode(p));
const disposers: (() => void)[] = [];
afterEach(() => disposers.splice(0).forEach((d) => d()));

function policy(seed = 2): TransformerPolicy {
  const p = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed });
  disposers.push(() => p.dispose());
  return p;
}

function expectSame(a: GenerateResult, b: GenerateResult): void {
  expect(a.tokens).toEqual(b.tokens);
  a.logProbs.forEach((row, i) => row.forEach((x, j) => expect(Math.abs(x - (b.logProbs[i]?.[j] as number))).toBeLessThan(1e-5)));
}

describe('generate with workers', () => {
  const opts: GenerateOptions = { maxNewTokens: 12, temperature: 1, topK: 40, stopTokens: [tok.encode('e')[0] as number] };

  it('gives every row what it gets in-process, for 2 and 3 shards, and advances the policy stream alike', async () => {
    const p = policy();
    const one = await p.generate(prompts, { ...opts, seed: 11, workers: 1 });
    expect(new Set(one.tokens.map((t) => t.length)).size).toBeGreaterThan(1); // rows stop at different positions
    for (const workers of [2, 3]) expectSame(await p.generate(prompts, { ...opts, seed: 11, workers }), one);
    const q = policy(); // same weights, same own stream: two calls without a seed
    const r = policy();
    const inProcess = [await q.generate(prompts, { ...opts, workers: 1 }), await q.generate(prompts, { ...opts, workers: 1 })];
    const split = [await r.generate(prompts, { ...opts, workers: 2 }), await r.generate(prompts, { ...opts, workers: 2 })];
    expectSame(split[0] as GenerateResult, inProcess[0] as GenerateResult);
    expectSame(split[1] as GenerateResult, inProcess[1] as GenerateResult);
    expect(await r.workerMemory()).toHaveLength(1);
  });

  it('follows the weights: after an update the workers decode with the new ones; no leaks here or there', async () => {
    const p = policy();
    await p.generate(prompts, { ...opts, seed: 1, workers: 2 });
    const before = tf.memory().numTensors;
    const mem0 = await p.workerMemory();
    const w = p.trainableVariables[3] as tf.Variable;
    tf.tidy(() => w.assign(tf.add(w, tf.randomNormal(w.shape, 0, 0.5, 'float32', 4))));
    const split = await p.generate(prompts, { ...opts, seed: 5, workers: 2 });
    const here = await p.generate(prompts, { ...opts, seed: 5, workers: 1 });
    expectSame(split, here);
    expect(tf.memory().numTensors).toBe(before);
    expect((await p.workerMemory()).map((m) => m.numTensors)).toEqual(mem0.map((m) => m.numTensors));
  });

  it('a worker that throws or exits fails the call with WorkerError; the next call starts fresh workers', async () => {
    const p = policy();
    const ok = await p.generate(prompts, { ...opts, seed: 3, workers: 2 });
    for (const how of ['throw', 'exit'] as const) {
      (p as unknown as { pool: GenerationPool }).pool.injectFault(1, how);
      await expect(p.generate(prompts, { ...opts, seed: 3, workers: 2 })).rejects.toBeInstanceOf(WorkerError);
      expectSame(await p.generate(prompts, { ...opts, seed: 3, workers: 2 }), ok);
    }
  });

  it('runs in-process with tools or one row, and validates the option', async () => {
    const p = policy();
    await p.generate(prompts, { ...opts, seed: 1, workers: 2, tools: [calculatorTool()], tokenizer: tok });
    await p.generate(prompts.slice(0, 1), { ...opts, seed: 1, workers: 2 });
    expect(await p.workerMemory()).toEqual([]);
    await expect(p.generate(prompts, { workers: 0 })).rejects.toThrow(ConfigError);
    await expect(p.generate(prompts, { workers: 'many' as unknown as number })).rejects.toThrow(/GenerateOptions\.workers/);
  });
});
