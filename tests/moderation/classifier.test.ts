import { beforeAll, describe, expect, it } from 'vitest';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { ModerationClassifier } from '../../src/moderation/classifier';
import { ModerationTrainer, readModerationExamples, type ModerationExample } from '../../src/moderation/classifier-trainer';
import { ConfigError, FileFormatError, InputError } from '../../src/errors';
import { readAll } from '../../src/data/jsonl';
import { Rng } from '../../src/ops/random';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';

beforeAll(setupBackend);

const tok = new ByteTokenizer();
const config = { vocabSize: tok.vocabSize, contextLength: 24, nLayer: 1, nHead: 2, dModel: 32, seed: 4 };
const WORDS = 'tea cup sun map hat pen box key owl fig jam log mud net oak pig rug sky toy van web yak'.split(' ');

/** Toy category "threat": the text holds the word "kill"; "spam": it holds "buy". */
function examples(n: number, seed: number): ModerationExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const words = Array.from({ length: 3 }, () => WORDS[rng.int(WORDS.length)] as string);
    const cats: string[] = [];
    if (rng.next() < 0.4) { words.splice(rng.int(4), 0, 'kill'); cats.push('threat'); }
    if (rng.next() < 0.3) { words.splice(rng.int(4), 0, 'buy'); cats.push('spam'); }
    return { text: words.join(' '), categories: cats };
  });
}

async function* chunks(...parts: string[]): AsyncGenerator<string> {
  yield* parts;
}

describe('ModerationClassifier', () => {
  it('learns toy categories from { text, categories } and flags held-out texts', async () => {
    const c = new ModerationClassifier({ config, categories: ['threat', 'spam'], tokenizer: tok });
    const t = new ModerationTrainer({ classifier: c, learningRate: 3e-3, batchSize: 16, seed: 1 });
    const held = examples(40, 99);
    const moderator = c.moderator();
    const first = await t.train(examples(160, 1)); //  creates the optimizer moments (kept on purpose)
    const hist = await expectNoLeaks(() => t.train(examples(160, 1), { epochs: 11 }));
    expect(hist.at(-1)!.loss).toBeLessThan(0.5 * first[0]!.loss);
    let right = 0;
    for (const e of held) {
      const r = await moderator(e.text);
      const want = e.categories as string[];
      if (r.categories.threat === want.includes('threat') && r.categories.spam === want.includes('spam') && r.flagged === want.length > 0) right++;
      expect(Object.keys(r.categoryScores ?? {})).toEqual(['threat', 'spam']);
    }
    expect(right / held.length).toBeGreaterThanOrEqual(0.9);
    t.dispose();
    c.dispose();
  }, 300_000);

  it('reads JSONL { text, categories } and rejects bad rows and unknown categories', async () => {
    const good = ['{"text":"kill it","categories":["threat"]}', '{"text":"hi","categories":{"threat":false}}'].join('\n');
    const rows = await readAll(readModerationExamples(chunks(good), { name: 'm.jsonl' }));
    expect(rows).toEqual([{ text: 'kill it', categories: ['threat'] }, { text: 'hi', categories: { threat: false } }]);
    await expect(readAll(readModerationExamples(chunks('{"text":"a","categories":[1]}'), { name: 'm.jsonl' }))).rejects.toThrow(FileFormatError);
    await expect(readAll(readModerationExamples(chunks('{"text":"a","categories":[]}\n{"x":1}'), { name: 'm.jsonl' }))).rejects.toThrow(/m\.jsonl:2/);
    const c = new ModerationClassifier({ config, categories: ['threat'], tokenizer: tok });
    const t = new ModerationTrainer({ classifier: c });
    await expect(t.train([{ text: 'a', categories: ['spam'] }])).rejects.toThrow(InputError);
    expect(() => new ModerationClassifier({ config, categories: [], tokenizer: tok })).toThrow(ConfigError);
    expect(() => new ModerationClassifier({ config, categories: ['a', 'a'], tokenizer: tok })).toThrow(ConfigError);
    expect(() => new ModerationTrainer({ classifier: c, learningRate: 0 })).toThrow(ConfigError);
    t.dispose();
    c.dispose();
  });
});
