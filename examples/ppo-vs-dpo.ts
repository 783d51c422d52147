/**
 * PPO or DPO? Both arms start from the same SFT policy and learn from the same comparisons, on the
 * quickstart's task (continue Brown-corpus sentences with positive sentiment; a simulated AFINN
 * labeller ranks K answers per prompt). Then they answer the same held-out prompts:
 *
 *   PPO  reward model on the rankings (Bradley-Terry), then PPO against it with a KL penalty to the SFT policy;
 *   DPO  DPO directly on the same rankings (K-way as C(K,2) pairs, ties dropped), the SFT policy as reference.
 *
 * It prints, side by side, the labeller's score of their answers (what we want up) and the KL to the
 * SFT policy (what it cost: mean over answers of the summed per-token k3 estimate of KL(pi || pi_SFT),
 * exp(d) - d - 1 with d = log pi_SFT(y_t) - log pi(y_t), answers sampled at T = 1; unbiased and never negative).
 *
 *   npm run build && npx tsx examples/ppo-vs-dpo.ts          # the full run (tens of minutes on 2 cores)
 *   QUICK=1 npx tsx examples/ppo-vs-dpo.ts                   # smoke run; the numbers mean nothing
 *
 * Knobs: QUICK=1, OUT (default `.tmp/ppo-vs-dpo`), PPO_STEPS, DPO_EPOCHS, DPO_BETA, BACKEND.
 */
import { rm as removeDir } from 'node:fs/promises';
import { join } from 'node:path';
import { RlhfPipeline, TransformerPolicy, useBackend, type BackendName } from 'tfjs-rlhf';
import { BASE_DIR, baseTokenizer } from './shared/base';
import { sentimentLabeler, sentimentScore } from './shared/sentiment-labeller';
import { sentimentTask } from './shared/sentiment-task';

const QUICK = process.env.QUICK === '1';
const OUT = process.env.OUT ?? (QUICK ? '.tmp/ppo-vs-dpo-quick' : '.tmp/ppo-vs-dpo');
const PPO_STEPS = Number(process.env.PPO_STEPS ?? (QUICK ? 2 : 30));
const DPO_EPOCHS = Number(process.env.DPO_EPOCHS ?? (QUICK ? 1 : 2));
const DPO_BETA = Number(process.env.DPO_BETA ?? 0.1);
for (const [k, v] of [['PPO_STEPS', PPO_STEPS], ['DPO_EPOCHS', DPO_EPOCHS]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a positive integer, got ${v}`);
}
if (!(DPO_BETA > 0)) throw new Error(`DPO_BETA must be > 0, got ${process.env.DPO_BETA}`);
const CHECKPOINT = BASE_DIR;
const K = 6;
const MAX_NEW = 20; // tokens
const t0 = Date.now();
const clock = () => `[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s]`;
const f = (x: number, d = 2) => x.toFixed(d);

const backend = await useBackend((process.env.BACKEND ?? 'auto') as BackendName);
const tokenizer = await baseTokenizer();
const eos = tokenizer.eosId;
await removeDir(OUT, { recursive: true, force: true });
console.log(`${clock()} backend ${backend}; writing to ${OUT}${QUICK ? ' (QUICK=1: tiny settings)' : ''}`);

const policy = await TransformerPolicy.load(CHECKPOINT);
const { demonstrations, sftHeldOut, evalPrompts, comparisonPrompts, ppoPrompts } = await sentimentTask(
  tokenizer, policy.config.contextLength, MAX_NEW,
  QUICK ? { demonstrations: 40, heldOut: 8, evaluation: 8, comparison: 24, ppo: 16 } : { demonstrations: 640, heldOut: 48, evaluation: 96, comparison: 360, ppo: 480 },
);

// Shared: SFT and the comparisons (the PPO arm's pipeline does both; the DPO arm copies its policy).
const ppoArm = new RlhfPipeline({
  policy, tokenizer, outDir: join(OUT, 'ppo-arm'), labeler: sentimentLabeler, seed: 1,
  sft: { learningRate: 1e-3, batchSize: 16, warmupSteps: 5, epochs: QUICK ? 1 : 3 },
  collect: { k: K, sampling: { maxNewTokens: MAX_NEW, temperature: 1 } },
  reward: { learningRate: 5e-4, batchSize: 4, warmupSteps: 5, epochs: 1, heldOutFraction: 0.15 },
  ppo: { steps: PPO_STEPS, batchSize: QUICK ? 8 : 16, miniBatchSize: 4, ppoEpochs: 4, learningRate: 5e-5, klCoef: 0.2, maxNewTokens: MAX_NEW, missingEosPenalty: 1 },
});
const sft = await ppoArm.sft(demonstrations, sftHeldOut);
console.log(`${clock()} SFT: ${sft.steps} steps`);
const sftPolicy = policy.clone(); // frozen: the reference both arms are measured against
const dpoPolicy = policy.clone();
const collected = await ppoArm.collect(comparisonPrompts);
const rankings = await ppoArm.comparisons();
console.log(`${clock()} comparisons: ${collected.labelled} prompts x ${K} answers ranked by the simulated labeller`);

// PPO arm.
const reward = await ppoArm.trainRewardModel(rankings);
console.log(`${clock()} PPO arm: reward model held-out accuracy ${f(reward.after?.accuracy ?? NaN)}`);
const ppo = await ppoArm.ppo(ppoPrompts);
console.log(`${clock()} PPO arm: ${ppo.stats.length} PPO steps; rollout reward ${f(ppo.firstScore, 3)} -> ${f(ppo.lastScore, 3)}`);

// DPO arm: same SFT policy, same rankings, no reward model, no sampling.
const dpoArm = new RlhfPipeline({ policy: dpoPolicy, tokenizer, outDir: join(OUT, 'dpo-arm'), seed: 1, reward: { heldOutFraction: 0.15 } });
const dpo = await dpoArm.dpo(rankings, { learningRate: 5e-5, batchSize: 8, beta: DPO_BETA, epochs: DPO_EPOCHS });
console.log(`${clock()} DPO arm: ${dpo.stats.length} DPO steps; held-out implicit-reward accuracy ${f(dpo.before?.['rewards/accuracies'] ?? NaN)} -> ${f(dpo.after?.['rewards/accuracies'] ?? NaN)}`);

/** Labeller score and KL to the SFT policy of a policy's answers to the held-out prompts. */
async function measure(p: TransformerPolicy) {
  const ids = evalPrompts.map((x) => tokenizer.encode(x));
  const { tokens, logProbs } = await p.generate(ids, { maxNewTokens: MAX_NEW, temperature: 1, stopTokens: [eos], seed: 321 });
  const ref = await sftPolicy.logProbs(ids, tokens);
  const kl = logProbs.map((lp, i) => lp.reduce((a, x, t) => {
    const d = ((ref[i] as number[])[t] as number) - x;
    return a + Math.expm1(d) - d;
  }, 0));
  const texts = tokens.map((t) => tokenizer.decode(t));
  const score = texts.map(sentimentScore);
  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
  return { score: mean(score), positive: score.filter((s) => s > 0).length / score.length, kl: mean(kl), example: texts[0] ?? '' };
}

const rows = [['SFT', await measure(sftPolicy)], ['PPO', await measure(policy)], ['DPO', await measure(dpoPolicy)]] as const;
console.log(`\n${clock()} ${evalPrompts.length} held-out prompts, one answer each at T = 1 (same seed):`);
console.log('  policy  labeller score  answers positive  KL to SFT (nats/answer)  first answer');
for (const [name, m] of rows) {
  console.log(`  ${name.padEnd(6)}  ${f(m.score).padStart(14)}  ${f(m.positive).padStart(16)}  ${f(m.kl, 3).padStart(23)}  ${JSON.stringify(m.example)}`);
}
ppoArm.dispose();
dpoArm.dispose();
for (const p of [policy, sftPolicy, dpoPolicy]) p.dispose();
