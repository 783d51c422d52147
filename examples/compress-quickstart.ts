/**
 * Does the alignment survive compression? On the checkpoints of a finished quickstart run
 * (`npm run quickstart`, OUT default `.tmp/quickstart`):
 * - the reward model dense / int8 / magnitude 50 % / SparseGPT 50 %: pairwise accuracy on FRESH
 *   comparisons (the SFT policy answers the 48 held-out evaluation prompts 6 times each; the same AFINN
 *   labeller ranks them), none of which the reward model trained on;
 * - the aligned (PPO) policy dense / int8 / magnitude 50 % / SparseGPT 50 % / SparseGPT 2:4 / SparseGPT 50 % + int8:
 *   the labeller's mean score on its answers to the held-out prompts (the quickstart's own measurement,
 *   same seed) and the KL to the SFT policy (Monte-Carlo, summed over response tokens).
 *
 *   npm run quickstart && npx tsx examples/compress-quickstart.ts    # about 2-4 minutes after the quickstart
 *
 * Knobs: QUICKSTART (default `.tmp/quickstart`), BACKEND (default auto).
 */
import { join } from 'node:path';
import {
  RewardModel, TransformerPolicy, loadTokenizer, prune, quantize, useBackend, type BackendName, type CompressibleModel,
} from 'tfjs-rlhf';
import { sentimentScore } from './shared/sentiment-labeller';
import { sentimentTask } from './shared/sentiment-task';

const QS = process.env.QUICKSTART ?? '.tmp/quickstart';
const backend = await useBackend((process.env.BACKEND ?? 'auto') as BackendName);
const tokenizer = await loadTokenizer(join(QS, 'sft-policy')); // the quickstart saves its tokenizer with every checkpoint
const eos = tokenizer.eosId;
const MAX_NEW = 20; // tokens, as in the quickstart
const K = 6;
const sft = await TransformerPolicy.load(join(QS, 'sft-policy'));
const aligned = await TransformerPolicy.load(join(QS, 'ppo', 'policy'));
const rm = await RewardModel.load(join(QS, 'reward-model'));
// The quickstart's split: evalPrompts were never trained on (not by SFT, the reward model or PPO).
const task = await sentimentTask(tokenizer, sft.config.contextLength, MAX_NEW, { demonstrations: 640, heldOut: 48, evaluation: 48, comparison: 360, ppo: 480 });
const evalIds = task.evalPrompts.map((p) => tokenizer.encode(p));
// Calibration: 32 SFT demonstrations (prompt + completion), as the policy sees them.
const calibration = task.demonstrations.slice(0, 32).map((d) => [...tokenizer.encode(d.prompt + d.completion), eos]);
console.log(`backend ${backend}; ${QS}: ${evalIds.length} held-out prompts, ${calibration.length} calibration sequences`);

const variants: [string, <M extends CompressibleModel>(m: M) => M][] = [
  ['dense', (m) => m],
  ['int8', (m) => quantize(m)],
  ['magnitude 50%', (m) => prune(m, { method: 'magnitude', sparsity: 0.5 })],
  ['SparseGPT 50%', (m) => prune(m, { method: 'sparsegpt', sparsity: 0.5, calibration })],
  ['SparseGPT 2:4', (m) => prune(m, { method: 'sparsegpt', pattern: '2:4', calibration })],
  ['SparseGPT 50% + int8', (m) => { const p = prune(m, { method: 'sparsegpt', sparsity: 0.5, calibration }); const q = quantize(p); p.dispose(); return q; }],
];
const withEos = (t: number[]) => (t.at(-1) === eos ? t : [...t, eos]);

// Fresh comparisons: K answers of the SFT policy per held-out prompt, ranked by the labeller's score.
const groups: { prompt: number[]; responses: number[][]; scores: number[] }[] = [];
for (let k = 0; k < K; k++) {
  const { tokens } = await sft.generate(evalIds, { maxNewTokens: MAX_NEW, temperature: 1, stopTokens: [eos], seed: 1000 + k });
  tokens.forEach((t, i) => {
    groups[i] ??= { prompt: evalIds[i] as number[], responses: [], scores: [] };
    groups[i].responses.push(withEos(t));
    groups[i].scores.push(sentimentScore(tokenizer.decode(t)));
  });
}
async function pairwiseAccuracy(model: RewardModel): Promise<{ accuracy: number; pairs: number }> {
  let right = 0;
  let pairs = 0;
  for (const g of groups) {
    const s = await model.scoreRaw(g.responses.map(() => g.prompt), g.responses);
    for (let i = 0; i < K; i++) for (let j = i + 1; j < K; j++) {
      const d = (g.scores[i] as number) - (g.scores[j] as number);
      if (d === 0) continue;
      pairs++;
      if (Math.sign((s[i] as number) - (s[j] as number)) === Math.sign(d)) right++;
    }
  }
  return { accuracy: right / pairs, pairs };
}

console.log('\n| reward model | held-out pairwise accuracy (fresh comparisons) |\n|---|---|');
for (const [name, make] of variants.slice(0, 4)) {
  const m = make(rm);
  const { accuracy, pairs } = await pairwiseAccuracy(m);
  console.log(`| ${name} | ${accuracy.toFixed(3)} (${pairs} pairs) |`);
  if (m !== rm) m.dispose();
}

/** Mean labeller score and KL(policy ‖ SFT) of the policy's answers to the held-out prompts. */
async function alignment(p: TransformerPolicy): Promise<{ afinn: number; positive: number; kl: number; reward: number }> {
  const { tokens } = await p.generate(evalIds, { maxNewTokens: MAX_NEW, temperature: 0.7, topP: 0.9, stopTokens: [eos], seed: 123 });
  const afinn = tokens.map((t) => sentimentScore(tokenizer.decode(t)));
  const sampled = await p.generate(evalIds, { maxNewTokens: MAX_NEW, temperature: 1, stopTokens: [eos], seed: 321 });
  const [lp, lq] = [await p.logProbs(evalIds, sampled.tokens), await sft.logProbs(evalIds, sampled.tokens)];
  const kl = lp.reduce((a, row, i) => a + row.reduce((s, x, t) => s + x - ((lq[i] as number[])[t] as number), 0), 0) / lp.length;
  const reward = (await rm.score(evalIds, tokens.map(withEos))).reduce((a, x) => a + x, 0) / tokens.length;
  return { afinn: afinn.reduce((a, x) => a + x, 0) / afinn.length, positive: afinn.filter((x) => x > 0).length, kl, reward };
}

const base = await alignment(sft);
console.log(`\nSFT policy (before RLHF): labeller score ${base.afinn.toFixed(2)}, ${base.positive}/${evalIds.length} positive, reward ${base.reward.toFixed(2)}`);
console.log('\n| aligned policy | labeller score (mean AFINN) | answers positive | reward (dense RM) | KL to SFT (nats) |\n|---|---|---|---|---|');
for (const [name, make] of variants) {
  const p = make(aligned);
  const a = await alignment(p);
  console.log(`| ${name} | ${a.afinn.toFixed(2)} | ${a.positive}/${evalIds.length} | ${a.reward.toFixed(2)} | ${a.kl.toFixed(2)} |`);
  if (p !== aligned) p.dispose();
}
for (const m of [sft, aligned, rm]) m.dispose();
