// DPOTrainer with `workers`: records split between the main thread and a worker replica, gradients summed.
// Same seed, same history as `workers: 1` up to float summation order (1e-5 relative on the loss over
// 3 epochs, an uneven last batch included), for pairwise and Plackett-Luce losses; no leaks in the main
// thread or the worker; a run resumes on another worker count.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { DPOTrainer } from '../../src/dpo/dpo-trainer';
import type { DPOStepStats } from '../../src/dpo/stats';
import type { DPOTrainerOptions } from '../../src/dpo/options';
import type { PreferenceRecord } from '../../src/dpo/data';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { setupBackend } from '../helpers/backend';

beforeAll(setupBackend);
const tok = new ByteTokenizer();
const disposers: (() => void)[] = [];
afterEach(() => disposers.splice(0).forEach((d) => d()));

const words = 'apple bread chair dance eagle flame grape house juice knife lemon mango'.split(' ');
const pairs: PreferenceRecord[] = words.map((w, i) => ({ prompt: `${w}:`, chosen: ` ${w.slice(0, 3)}`, rejected: ` ${String(i * 37 % 100)}` }));
const rankings: PreferenceRecord[] = words.slice(0, 7).map((w, i) => ({ prompt: `${w}:`, responses: [` ${w}`, ` ${i}${i}`, ' zz'], ranking: [0, 1, 2] }));

function make(workers: number, extra: Partial<DPOTrainerOptions> = {}) {
  const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 4 });
  const t = new DPOTrainer({ policy, tokenizer: tok, batchSize: 5, learningRate: 3e-3, beta: 0.2, seed: 3, workers, ...extra });
  disposers.push(() => { t.dispose(); policy.dispose(); });
  return t;
}

function expectClose(a: DPOStepStats[], b: DPOStepStats[]): void {
  expect(a).toHaveLength(b.length);
  a.forEach((s, i) => {
    const r = b[i] as DPOStepStats;
    expect(Math.abs(s.loss - r.loss) / Math.max(1e-9, Math.abs(r.loss)), `step ${i + 1} loss ${s.loss} vs ${r.loss}`).toBeLessThan(1e-5);
    expect(Math.abs(s.grad_norm - r.grad_norm) / r.grad_norm, `step ${i + 1} grad norm`).toBeLessThan(1e-4);
    expect(s['rewards/accuracies']).toBeCloseTo(r['rewards/accuracies'], 6);
  });
}

describe('DPOTrainer with workers', () => {
  for (const [name, data, extra] of [['pairs', pairs, {}], ['Plackett-Luce rankings', rankings, { rankings: 'plackett-luce' }]] as const) {
    it(`matches workers: 1 (${name}), no leaks in the main thread or the worker`, async () => {
      const one = make(1, extra);
      const h1 = await one.train(data, { epochs: 3 });
      const two = make(2, extra);
      const first = await two.train(data, { epochs: 1 });
      const before = tf.memory().numTensors;
      const mem0 = await two.workerMemory();
      const rest = await two.train(data, { epochs: 2 });
      expect(tf.memory().numTensors).toBe(before);
      expect(mem0).toHaveLength(1);
      expect((await two.workerMemory()).map((m) => m.numTensors)).toEqual(mem0.map((m) => m.numTensors));
      expectClose([...first, ...rest], h1);
      expect(h1.at(-1)!.loss).toBeLessThan(h1[0]!.loss);
    });
  }

  it('resumes on another worker count', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpo-workers-'));
    disposers.push(() => rmSync(dir, { recursive: true, force: true }));
    const ref = make(1);
    const h = await ref.train(pairs, { epochs: 2 });
    const a = make(2);
    const h1 = await a.train(pairs, { epochs: 1 });
    await a.save(dir);
    const b = await DPOTrainer.load(dir, { tokenizer: tok, workers: 1 });
    disposers.push(() => b.dispose());
    expectClose([...h1, ...(await b.train(pairs, { epochs: 1 }))], h);
  });
});
