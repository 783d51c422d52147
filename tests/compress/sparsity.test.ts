import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { AdamW } from '../../src/optim/adamw';
import { optimizerStep } from '../../src/train/step';
import { leftPad } from '../../src/models/batch';
import { prune } from '../../src/compress/prune';
import { countZeros, keepSparsity } from '../../src/compress/sparsity';
import { setupBackend } from '../helpers/backend';

beforeAll(async () => {
  await setupBackend();
});

async function train(p: TransformerPolicy, steps: number): Promise<void> {
  const opt = new AdamW(p.trainableVariables, { learningRate: 1e-2, weightDecay: 0 });
  const batch = leftPad([[1, 2, 3, 4, 5, 6], [7, 8, 9, 1, 2, 3]], 0);
  for (let s = 0; s < steps; s++) {
    await optimizerStep(opt, () => ({ loss: tf.neg(tf.mean(p.tokenLogProbs(batch))) as tf.Scalar }), { maxGradNorm: 1, learningRate: 1e-2, where: `test step ${s}` });
  }
  opt.dispose();
}

describe('keepSparsity', () => {
  it('keeps a pruned policy exactly as sparse through optimizer steps; without it the zeros fill in; no leaks', async () => {
    const before = tf.memory().numTensors;
    const base = new TransformerPolicy({ vocabSize: 12, contextLength: 8, nLayer: 1, nHead: 2, dModel: 16, seed: 4 });
    const kept = prune(base, { method: 'magnitude', sparsity: 0.5 });
    const free = kept.clone();
    const mask = kept.model.p('h.0.mlp.c_fc.weight').dataSync().map((w) => (w === 0 ? 1 : 0));
    const handle = keepSparsity(kept);
    expect(handle.zeros).toBe(countZeros(kept).zeros);
    const w0 = Array.from(kept.model.p('h.0.mlp.c_fc.weight').dataSync());
    const zeros0 = countZeros(kept);
    await train(kept, 3);
    await train(free, 3);
    const w1 = kept.model.p('h.0.mlp.c_fc.weight').dataSync();
    expect(countZeros(kept)).toEqual(zeros0);
    w1.forEach((w, i) => { if (mask[i] === 1) expect(w).toBe(0); });
    expect(w1.some((w, i) => w !== w0[i])).toBe(true); // the other weights did train
    expect(countZeros(free).zeros).toBeLessThan(countZeros(free).total / 10);
    handle.release();
    await train(kept, 1);
    expect(countZeros(kept).zeros).toBeLessThan(countZeros(kept).total / 10);
    for (const m of [base, kept, free]) m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
