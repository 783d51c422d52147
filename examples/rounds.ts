/**
 * Rounds of feedback, as InstructGPT ran them: each round collects comparisons on the CURRENT policy,
 * continues training the reward model on everything collected so far, and runs PPO again, with a
 * checkpoint and a summary per round.
 *
 *   npm run build && npx tsx examples/rounds.ts     # two rounds, about 6-8 minutes on 2 cores
 *   QUICK=1 npx tsx examples/rounds.ts              # smoke run, about a minute
 *
 * The labeller is SIMULATED, and here it is written as an AI judge: a `JudgeLabeler` whose judge is a
 * scoring function (the AFINN-165 sentiment sum, from the `sentiment` package; the same labeller as the
 * quickstart). Swap it for `await WebLabeler.start()` to rank in a browser yourself, for
 * `new TerminalLabeler()` on a server, or for a `JudgeLabeler` over an OpenAI-compatible endpoint with
 * your own principles (docs/guides/labelling.md, docs/guides/ai-feedback.md). Nothing else changes.
 *
 * Knobs: QUICK=1, ROUNDS (default 2), OUT (default `.tmp/rounds`).
 */
import { rm as removeDir } from 'node:fs/promises';
import {
  JudgeLabeler, RlhfPipeline, progressLogger, runRounds, useBackend, type RoundSummary,
} from 'tfjs-rlhf';
import { sentimentScore } from './shared/sentiment-labeller';
import { sentimentTask } from './shared/sentiment-task';
import { loadBase } from './shared/base';

const QUICK = process.env.QUICK === '1';
const ROUNDS = Number(process.env.ROUNDS ?? 2);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`ROUNDS must be a positive integer, got ${process.env.ROUNDS}`);
const OUT = process.env.OUT ?? (QUICK ? '.tmp/rounds-quick' : '.tmp/rounds');
const PER_ROUND = QUICK ? 16 : 160; // prompts labelled per round
const MAX_NEW = 20; // tokens
const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

console.log(`backend ${await useBackend()}; ${ROUNDS} rounds, writing to ${OUT}`);
await removeDir(OUT, { recursive: true, force: true });
const { policy, tokenizer } = await loadBase();

// Demonstrations and prompts from the Brown corpus, as in the quickstart (examples/shared/sentiment-task.ts).
const { demonstrations, comparisonPrompts, ppoPrompts } = await sentimentTask(tokenizer, policy.config.contextLength, MAX_NEW, {
  demonstrations: QUICK ? 32 : 640, heldOut: 0, evaluation: 0, comparison: PER_ROUND * ROUNDS, ppo: QUICK ? 16 : 480,
});

// The simulated labeller as an AI judge: a function of the request returning one score per response.
// Equal scores are ties (no pair); items whose responses all score the same are skipped (a full tie teaches
// nothing) with a warning.
const labeler = new JudgeLabeler({
  judge: (request) => request.responses.map(sentimentScore), name: 'judge:afinn-165', allowTies: true, onFailure: 'skip',
});

const pipeline = new RlhfPipeline({
  policy, tokenizer, outDir: OUT, labeler, seed: 1, logger: progressLogger(),
  sft: { learningRate: 1e-3, batchSize: 16, warmupSteps: 5, epochs: QUICK ? 1 : 3 },
  collect: { k: 6, sampling: { maxNewTokens: MAX_NEW, temperature: 1 } },
  reward: { learningRate: 5e-4, batchSize: 4, warmupSteps: 5, epochs: 1, heldOutFraction: 0.15 },
  ppo: { steps: QUICK ? 2 : 15, batchSize: QUICK ? 8 : 16, miniBatchSize: 4, learningRate: 5e-5, klCoef: 0.2, maxNewTokens: MAX_NEW, missingEosPenalty: 1 },
});
await pipeline.sft(demonstrations);
console.log(`SFT on ${demonstrations.length} demonstrations done`);

const print = (s: RoundSummary) => console.log(
  `round ${s.round}: labelled ${s.collected.labelled} (skipped ${s.collected.skipped}); reward model on ${s.rewardTrainRecords} records, `
  + `held-out accuracy ${f(s.rewardAccuracyBefore, 2)} before this round's training -> ${f(s.rewardAccuracy, 2)}; `
  + `PPO reward ${f(s.meanReward.first)} -> ${f(s.meanReward.last)}, KL ${f(s.kl)}; saved ${s.checkpoint}`,
);
await runRounds(pipeline, {
  rounds: ROUNDS,
  comparisonPrompts: (round) => comparisonPrompts.slice((round - 1) * PER_ROUND, round * PER_ROUND),
  ppoPrompts,
  onRound: print,
});
pipeline.dispose();
policy.dispose();
