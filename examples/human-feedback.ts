/**
 * Human feedback, for real: you rank the policy's answers yourself, in a browser page or in the
 * terminal, and a reward model learns your rankings. Stop at any time (Ctrl-C): every ranking is saved
 * as you make it, and running the script again carries on where you stopped.
 *
 *   npm run build && npx tsx examples/human-feedback.ts              # a page on http://127.0.0.1:8123
 *   LABELER=terminal npx tsx examples/human-feedback.ts              # rank in this terminal instead
 *
 * Run `npm run quickstart` first to rank the answers of its SFT policy (`.tmp/quickstart/sft-policy`);
 * otherwise the pretrained checkpoint in examples/assets answers. Knobs: LABELER (web | terminal),
 * PORT (default 8123), ITEMS (prompts to rank, default 20), K (answers per prompt, default 4),
 * OUT (default `.tmp/human-feedback`). docs/guides/labelling.md is the guide for the people who rank.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  PreferenceCollector, RewardModel, RewardTrainer, TerminalLabeler, WebLabeler,
  readAll, readRankings, useBackend, type Labeler,
} from 'tfjs-rlhf';
import { sentimentTask } from './shared/sentiment-task';
import { BASE_DIR, loadBase } from './shared/base';

const OUT = process.env.OUT ?? '.tmp/human-feedback';
const ITEMS = Number(process.env.ITEMS ?? 20);
const K = Number(process.env.K ?? 4);
const MAX_NEW = 20; // tokens
const file = join(OUT, 'comparisons.jsonl');

await useBackend();
const sft = '.tmp/quickstart/sft-policy';
const { policy, tokenizer } = await loadBase(existsSync(join(sft, 'config.json')) ? sft : BASE_DIR);
const { comparisonPrompts } = await sentimentTask(tokenizer, policy.config.contextLength, MAX_NEW, {
  demonstrations: 640, heldOut: 48, evaluation: 48, comparison: ITEMS, ppo: 0,
});

let labeler: Labeler;
if (process.env.LABELER === 'terminal') {
  labeler = new TerminalLabeler({ criteria: [] });
} else {
  const web = await WebLabeler.start({ port: Number(process.env.PORT ?? 8123) });
  console.error(`\nOpen ${web.url} and rank the answers (keys 1-${K} in order of preference, then Enter).\n`);
  labeler = web;
}

// Ctrl-C stops the session: the item on screen is not saved, everything ranked before it is.
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
const collector = new PreferenceCollector({ policy, tokenizer, labeler, file, k: K, criteria: [], sampling: { maxNewTokens: MAX_NEW, temperature: 1 }, seed: 1 });
const summary = await collector.collect(comparisonPrompts, { signal: stop.signal });
await labeler.close?.();
console.error(`ranked ${summary.labelled}, skipped ${summary.skipped}, already done ${summary.alreadyDone}${summary.aborted ? ' (stopped)' : ''}; saved in ${file}`);

// A reward model from your rankings (with a handful of items, expect it to fit them, not to generalise).
const records = existsSync(file) ? await readAll(readRankings(file)) : [];
if (records.length >= 2) {
  const rm = RewardModel.fromPolicy(policy);
  const trainer = new RewardTrainer({ model: rm, tokenizer, learningRate: 5e-4, batchSize: 4, warmupSteps: 2, seed: 1 });
  await trainer.train(records, { epochs: 3 });
  const fit = await trainer.evaluate(records);
  console.error(`reward model: accuracy on your ${fit.pairs} comparisons ${fit.accuracy.toFixed(2)}; saved to ${join(OUT, 'reward-model')}`);
  await rm.save(join(OUT, 'reward-model'));
  trainer.dispose();
  rm.dispose();
}
policy.dispose();
