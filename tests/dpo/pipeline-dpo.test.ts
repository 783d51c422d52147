// RlhfPipeline.dpo(): DPO straight from ranking records (the collected comparisons), held-out split by
// prompt hash, checkpoint written, the shared reference untouched, nothing leaked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../../src/tf';
import { setupBackend } from '../helpers/backend';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { TransformerPolicy } from '../../src/models/policy';
import { RlhfPipeline } from '../../src/pipeline/pipeline';
import { DPOTrainer } from '../../src/dpo/dpo-trainer';
import { InputError } from '../../src/errors';
import type { RankingExample } from '../../src/data/types';

const tok = new ByteTokenizer();
let dir: string;
beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(join(tmpdir(), 'rlhf-dpo-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const records: RankingExample[] = Array.from({ length: 12 }, (_, i) => ({
  prompt: `Q${i}:`, responses: ['see ee', '12', 'tree'], ranking: [0, 2, 1],
}));

describe('RlhfPipeline.dpo', () => {
  it('trains DPO on ranking records (given or from comparisons.jsonl), holds some out, saves dpo/ and leaks nothing', async () => {
    const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 3 });
    const p = new RlhfPipeline({ policy, tokenizer: tok, outDir: dir, seed: 1, reward: { heldOutFraction: 0.3 } });
    await expect(p.dpo()).rejects.toThrow(InputError);
    await writeFile(join(dir, 'comparisons.jsonl'), `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const n0 = tf.memory().numTensors;
    const r = await p.dpo(undefined, { learningRate: 1e-3, batchSize: 4, epochs: 2 });
    expect(r.trainRecords + r.heldOutRecords).toBe(12);
    expect(r.heldOutRecords).toBeGreaterThan(0);
    expect(r.stats[0]!.loss).toBeCloseTo(Math.LN2, 5);
    expect(r.stats[0]!.num_pairs).toBe(3 * Math.min(4, r.trainRecords));
    expect(r.after!['rewards/margins']).toBeGreaterThan(r.before!['rewards/margins']);
    expect(existsSync(join(dir, 'dpo', 'trainer.json'))).toBe(true);
    expect(p.reference).toBeDefined();
    const again = await DPOTrainer.load(join(dir, 'dpo'), { tokenizer: tok });
    expect(again.progress.step).toBe(r.stats.length);
    again.dispose();
    p.dispose();
    expect(tf.memory().numTensors).toBe(n0); // the reference clone and the trainer were freed
    policy.dispose();
  });
});
