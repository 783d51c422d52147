import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { LMTrainer } from '../../src/train/lm-trainer';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { FileFormatError } from '../../src/errors';
import { setupBackend } from '../helpers/backend';

beforeAll(setupBackend);
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lm-ckpt-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const tok = new ByteTokenizer();
const ids = tok.encode('a stitch in time saves nine; the early bird catches the worm. '.repeat(12));
const options = { batchSize: 3, sequenceLength: 20, learningRate: 3e-3, warmupSteps: 2, decaySteps: 8, seed: 4, workers: 1 } as const;
const fresh = () => new LMTrainer({ ...options, policy: TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 2, dropout: 0.1 }) });

async function weights(p: TransformerPolicy): Promise<number[][]> {
  return Promise.all(p.trainableVariables.map(async (v) => Array.from((await v.data()) as Float32Array)));
}

describe('LMTrainer.save / LMTrainer.load', () => {
  it('a run saved after 3 steps and resumed for 3 more equals 6 uninterrupted steps (windows, dropout, lr, Adam moments)', async () => {
    const straight = fresh();
    const all = await straight.train(ids, { steps: 6 });
    const want = await weights(straight.policy);

    const first = fresh();
    await first.train(ids, { steps: 3 });
    const dir = join(root, 'resume');
    await first.save(dir);
    first.dispose();
    first.policy.dispose();

    const before = tf.memory().numTensors;
    const resumed = await LMTrainer.load(dir);
    expect(resumed.step).toBe(3);
    const rest = await resumed.train(ids, { steps: 3 });
    expect(rest.map((s) => [s.step, s.loss, s.lr])).toEqual(all.slice(3).map((s) => [s.step, s.loss, s.lr]));
    expect(await weights(resumed.policy)).toEqual(want);
    resumed.dispose(); // frees the loaded policy too
    expect(tf.memory().numTensors).toBe(before);
    straight.dispose();
    straight.policy.dispose();
  });

  it('rejects a folder of another trainer, and a bad step, with a FileFormatError naming trainer.json', async () => {
    const t = fresh();
    const dir = join(root, 'bad');
    await t.save(dir);
    t.dispose();
    t.policy.dispose();
    const path = join(dir, 'trainer.json');
    const json = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    const before = tf.memory().numTensors;
    await writeFile(path, JSON.stringify({ ...json, kind: 'dpo' }));
    await expect(LMTrainer.load(dir)).rejects.toThrow(FileFormatError);
    await writeFile(path, JSON.stringify({ ...json, step: -1 }));
    await expect(LMTrainer.load(dir)).rejects.toThrow(/trainer\.json.*step -1/);
    expect(tf.memory().numTensors).toBe(before); // the policy read before the check is freed
  });
});
