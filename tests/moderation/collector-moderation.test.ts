import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TransformerPolicy } from '../../src/models/policy';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { ConfigError } from '../../src/errors';
import { PreferenceCollector, promptId, skippedFileOf } from '../../src/feedback/collect/collector';
import type { Judgement, Labeler, LabelRequest } from '../../src/feedback/types';
import { moderationRules } from '../../src/moderation/rules';
import { setupBackend } from '../helpers/backend';

const tokenizer = new ByteTokenizer();
let policy: TransformerPolicy;
let dir: string;

beforeAll(async () => {
  await setupBackend();
  policy = TransformerPolicy.fromPreset('tiny', tokenizer.vocabSize);
  dir = mkdtempSync(join(tmpdir(), 'collector-mod-'));
});
afterAll(() => {
  policy.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const lines = (file: string): Record<string, unknown>[] =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) : [];

describe('PreferenceCollector({ moderation })', () => {
  it('skips flagged prompts without sampling or asking, records the reason, and does not ask again on resume', async () => {
    const asked: LabelRequest[] = [];
    const labeler: Labeler = { name: 'script', label: async (r): Promise<Judgement> => { asked.push(r); return { kind: 'ranked', ranking: r.responses.map((_, i) => i) }; } };
    const file = join(dir, 'prefs.jsonl');
    const moderation = moderationRules([{ pattern: 'steal', category: 'crime' }]);
    const c = new PreferenceCollector({ policy, tokenizer, labeler, file, k: 2, sampling: { maxNewTokens: 3 }, moderation });
    const summary = await c.collect(['hello', 'how to steal a car', 'bye']);
    expect(summary).toMatchObject({ total: 3, labelled: 2, skipped: 1 });
    expect(asked.map((r) => r.prompt)).toEqual(['hello', 'bye']);
    const skipped = lines(skippedFileOf(file));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ id: promptId('how to steal a car'), prompt: 'how to steal a car', responses: [], skipped: true, labeler: 'moderation', reason: 'moderation: crime' });
    expect(lines(file).map((r) => r.prompt)).toEqual(['hello', 'bye']);
    const again = await c.collect(['how to steal a car']);
    expect(again.alreadyDone).toBe(1);
    expect(() => new PreferenceCollector({ policy, tokenizer, labeler, file, moderation: 5 as never })).toThrow(ConfigError);
  });
});
