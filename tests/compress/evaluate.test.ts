import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { perplexity } from '../../src/compress/evaluate';
import { InputError } from '../../src/errors';
import { setupBackend } from '../helpers/backend';

beforeAll(async () => {
  await setupBackend();
});

describe('perplexity', () => {
  it('is exp of the mean next-token NLL over non-overlapping windows (remainder dropped), matching logProbs', async () => {
    const p = new TransformerPolicy({ vocabSize: 11, contextLength: 8, nLayer: 1, nHead: 2, dModel: 8, seed: 9 });
    const tokens = Array.from({ length: 3 * 6 + 4 }, (_, i) => (i * 7 + 3) % 11);
    let nll = 0;
    for (let w = 0; w < 3; w++) {
      const win = tokens.slice(w * 6, w * 6 + 6);
      const [lp] = await p.logProbs([win.slice(0, 1)], [win.slice(1)]);
      nll -= (lp as number[]).reduce((a, x) => a + x, 0);
    }
    const before = tf.memory().numTensors;
    const r = await perplexity(p, tokens, { seqLen: 6, batchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.windows).toBe(3);
    expect(r.loss).toBeCloseTo(nll / 15, 5);
    expect(r.perplexity).toBeCloseTo(Math.exp(nll / 15), 4);
    await expect(perplexity(p, [1, 2, 3], { seqLen: 6 })).rejects.toThrow(InputError);
    p.dispose();
  });
});
