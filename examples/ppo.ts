/**
 * Stage 3 of RLHF (InstructGPT): PPO against the reward model from stage 2, with a per-token KL penalty
 * to the frozen SFT policy. Prints the metrics of every PPO step, samples before and after with their
 * reward-model scores, and saves a resumable checkpoint.
 *
 *   npx tsx examples/sft-and-reward.ts    # stages 1-2: saves .tmp/sft-policy and .tmp/reward-model
 *   npx tsx examples/ppo.ts               # this file: about 5 minutes on 2 cores (wasm backend)
 *   QUICK=1 npx tsx examples/ppo.ts       # smoke run, well under a minute
 *
 * When the stage-2 checkpoints are missing it builds quick stand-ins itself (a small policy briefly
 * pretrained and fine-tuned on Brown-corpus text, and a reward model fitted to simulated sentiment
 * rankings) and says so; run examples/sft-and-reward.ts for the real ones.
 *
 * Knobs (environment variables): QUICK=1, STEPS, LR, KL_TARGET (nats per sequence; makes the KL
 * coefficient adaptive), KL_HORIZON (episodes, default 10000: beta then moves at most 0.03% per step of
 * 16, so lower it, e.g. to 500, to see the controller act within a short run), IN_DIR (where the stage-2 checkpoints are: default `.tmp`, or `.tmp/quick` with
 * QUICK=1, which is where `QUICK=1 npx tsx examples/sft-and-reward.ts` writes), OUT (default
 * `IN_DIR/ppo-run`, i.e. `.tmp/ppo-run`).
 *
 * The reward model was trained on rankings by a SIMULATED labeller (the AFINN-165 sentiment lexicon,
 * see examples/shared/sentiment-labeller.ts). We print the AFINN score of the samples next to the
 * reward-model score: PPO maximises the reward model, and whether that also raises the labeller's score
 * depends on how well the reward model learned the labeller (its held-out accuracy in stage 2).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  ByteTokenizer, consoleLogger, LMTrainer, PPOTrainer, RewardModel, RewardTrainer, Rng, SFTTrainer, TransformerPolicy, useBackend,
  type PPOStats, type RankingExample, type RewardFunction,
} from 'tfjs-rlhf';
import { brownSentences } from './shared/brown';
import { rankBySentiment, sentimentScore } from './shared/sentiment-labeller';

const QUICK = process.env.QUICK === '1';
const num = (name: string, full: number, quick: number): number => {
  const v = Number(process.env[name] ?? (QUICK ? quick : full));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number, got ${process.env[name]}`);
  return v;
};
const STEPS = Math.floor(num('STEPS', 40, 2));
const LR = num('LR', 5e-5, 5e-5);
const KL_TARGET = process.env.KL_TARGET === undefined ? undefined : num('KL_TARGET', 6, 6);
const KL_HORIZON = num('KL_HORIZON', 10000, 10000);
const IN_DIR = process.env.IN_DIR ?? (QUICK ? '.tmp/quick' : '.tmp');
const OUT = process.env.OUT ?? join(IN_DIR, 'ppo-run');
const BATCH = QUICK ? 8 : 16; // prompts per PPO step (the rollout batch)
const MAX_NEW = QUICK ? 16 : 32; // most response tokens (bytes)

const t0 = Date.now();
const secs = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;
const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const backend = await useBackend();
const tokenizer = new ByteTokenizer();
const eos = tokenizer.eosId;
/** The response as the reward model was trained to see it: ending with EOS. */
const withEos = (ids: readonly number[]) => (ids.at(-1) === eos ? [...ids] : [...ids, eos]);
console.log(`backend ${backend}${QUICK ? ' (QUICK=1: tiny settings, numbers are not meaningful)' : ''}`);

/** A prompt in the SFT task's format: the first 4-6 words of a sentence. */
const promptOf = (s: string, i: number) => `Continue: ${s.split(' ').slice(0, 4 + (i % 3)).join(' ')}`;

// ---------------------------------------------------------------------------------------------------
// The SFT policy and the reward model from stage 2, or quick stand-ins.
const SFT_DIR = join(IN_DIR, 'sft-policy');
const RM_DIR = join(IN_DIR, 'reward-model');
let policy: TransformerPolicy;
let rm: RewardModel;
if (existsSync(join(SFT_DIR, 'config.json')) && existsSync(join(RM_DIR, 'config.json'))) {
  policy = await TransformerPolicy.load(SFT_DIR);
  rm = await RewardModel.load(RM_DIR);
  const n = rm.normalization;
  console.log(`loaded ${SFT_DIR} (${policy.parameterCount.toLocaleString('en')} parameters) and ${RM_DIR} (normalisation gain ${f(n.gain)}, bias ${f(n.bias)})`);
} else {
  console.log(`${SFT_DIR} or ${RM_DIR} not found: building quick STAND-INS here (run \`${QUICK ? 'QUICK=1 ' : ''}npx tsx examples/sft-and-reward.ts\` for the real ones)`);
  ({ policy, rm } = await standIns());
}
if (policy.config.vocabSize !== tokenizer.vocabSize) throw new Error(`the policy has vocabSize ${policy.config.vocabSize}, not the ByteTokenizer's ${tokenizer.vocabSize}`);

// ---------------------------------------------------------------------------------------------------
// Prompts: the first 4-6 words of sentences from Brown categories that no earlier stage saw (romance and
// general fiction; pretraining used ca/cf/cn, SFT and the reward model cb/cc), in the SFT task's format.
const ctx = policy.config.contextLength;
const prompts = new Rng(7).shuffle(
  (await brownSentences(['cp', 'ck'], QUICK ? 4 : 40)).filter((s) => s.split(' ').length >= 9 && /^[\x20-\x7e]+$/.test(s)),
).map(promptOf).filter((p) => tokenizer.encode(p).length + MAX_NEW <= ctx);
const evalPrompts = prompts.splice(0, QUICK ? 8 : 32); // held out from PPO, for before/after
console.log(`${prompts.length} PPO prompts, ${evalPrompts.length} held out; e.g. ${JSON.stringify(prompts[0])}`);

/** Samples one response per held-out prompt (fixed seed) and scores it with the reward model and the labeller. */
async function evaluate(label: string, show: number) {
  const ids = evalPrompts.map((p) => tokenizer.encode(p));
  const { tokens } = await policy.generate(ids, { maxNewTokens: MAX_NEW, temperature: 1, stopTokens: [eos], seed: 123 });
  const scores = await rm.score(ids, tokens.map(withEos)); // as PPO scores them, before the EOS penalty
  const texts = tokens.map((t) => tokenizer.decode(t.filter((x) => x !== eos)));
  const afinn = texts.map(sentimentScore);
  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
  console.log(`\n--- ${label}: ${evalPrompts.length} held-out prompts, temperature 1 ---`);
  for (let i = 0; i < show; i++) {
    const end = tokens[i]?.at(-1) === eos ? '<eos>' : '...';
    console.log(`  reward ${f(scores[i] ?? NaN, 2).padStart(6)}  AFINN ${String(afinn[i]).padStart(2)}  ${evalPrompts[i]}|${texts[i]}${end}`);
  }
  const r = { reward: mean(scores), afinn: mean(afinn), eos: tokens.filter((t) => t.at(-1) === eos).length };
  console.log(`mean reward-model score ${f(r.reward)}, mean AFINN ${f(r.afinn)}, ${r.eos}/${tokens.length} ended with EOS`);
  return r;
}

const before = await evaluate('samples before PPO', QUICK ? 2 : 4);

// ---------------------------------------------------------------------------------------------------
// The reward. The reward model only ever saw responses that end with EOS (RewardTrainer appends it), so
// a response that hit maxNewTokens before EOS is out of its distribution: scored as it is, its score is
// mostly noise (on the stage-2 model, about 10 times the spread of finished responses) and PPO learns to
// never stop. So we score every response as if it ended there, and subtract `missingEosPenalty` from
// the score of the unfinished ones (docs/guides/ppo.md, `missingEosPenalty`): the policy learns to finish
// its sentence.
const reward: RewardFunction = (samples) => rm.score(samples.map((x) => x.promptIds), samples.map((x) => withEos(x.responseIds)));

// The critic: a copy of the reward model (InstructGPT, the N+ details): a separate value model whose
// trunk already knows what the reward model attends to.
const critic = rm.clone();

// PPO. The reference policy is a frozen copy of the SFT policy (the trainer clones it); one AdamW updates
// policy and critic. The learning rate is chosen for this model size so that policy/approxkl_avg stays
// at about 0.001-0.005 and policy/clipfrac_avg below about 0.07, the recipe's healthy ranges.
const ppo = new PPOTrainer({
  policy, reward, valueModel: critic, tokenizer,
  batchSize: BATCH, miniBatchSize: 4, ppoEpochs: 4,
  learningRate: LR, klCoef: 0.05, ...(KL_TARGET === undefined ? {} : { klTarget: KL_TARGET, klHorizon: KL_HORIZON }),
  temperature: 1, maxNewTokens: MAX_NEW, missingEosPenalty: 1, seed: 1,
  logger: consoleLogger('warn', (line) => console.log(line)), // ratio blow-ups and negative KL
});
console.log(`\n== PPO: ${STEPS} steps of ${BATCH} prompts, ${ppo.options.ppoEpochs} epochs of minibatches of ${ppo.options.miniBatchSize}, lr ${LR}, ${KL_TARGET === undefined ? `klCoef ${ppo.options.klCoef}` : `adaptive KL from ${ppo.options.klCoef}, target ${KL_TARGET}, horizon ${KL_HORIZON}`} ==`);
const line = (s: PPOStats) => [
  `step ${s.step}/${STEPS}`,
  `objective/scores ${f(s['objective/scores'])}`,
  `objective/kl ${f(s['objective/kl'])}`,
  `objective/rlhf_reward ${f(s['objective/rlhf_reward'])}`,
  `policy/approxkl_avg ${f(s['policy/approxkl_avg'], 4)}`,
  `policy/clipfrac_avg ${f(s['policy/clipfrac_avg'])}`,
  `val/explained_variance ${f(s['val/explained_variance'], 2)}`,
  `val/num_eos_tokens ${s['val/num_eos_tokens']}`,
  `time/rollout ${f(s['time/rollout'], 1)}`,
  `time/score ${f(s['time/score'], 1)}`,
  `time/update ${f(s['time/update'], 1)}`,
].join('  ');
const t = Date.now();
const history = await ppo.train(prompts, { steps: STEPS, onStep: (s) => console.log(line(s)) });
console.log(`PPO: ${STEPS} steps in ${secs(t)}`);
const avg = (k: keyof PPOStats, from: number, to: number) => {
  const xs = history.slice(from, to).map((s) => s[k]);
  return xs.reduce((a, x) => a + x, 0) / xs.length;
};
const k = Math.max(1, Math.min(5, Math.floor(history.length / 2)));
console.log(`first ${k} steps: objective/scores ${f(avg('objective/scores', 0, k))}, objective/kl ${f(avg('objective/kl', 0, k))}; last ${k}: objective/scores ${f(avg('objective/scores', -k, history.length))}, objective/kl ${f(avg('objective/kl', -k, history.length))}`);

const after = await evaluate('samples after PPO (same prompts and seed)', QUICK ? 2 : 4);
console.log(`\nheld-out mean reward-model score ${f(before.reward)} -> ${f(after.reward)}; mean AFINN ${f(before.afinn)} -> ${f(after.afinn)}`);

// Everything needed to resume: policy, reference, critic, Adam moments, KL coefficient, RNG, counters.
// PPOTrainer.load(OUT, { reward, tokenizer }) continues exactly where this run stopped.
await ppo.save(OUT);
console.log(`saved ${OUT} (policy/, ref/, critic/, trainer.json, trainer.safetensors)`);
console.log(`done in ${secs(t0)}`);
ppo.dispose();
critic.dispose();
rm.dispose();
policy.dispose();

// ---------------------------------------------------------------------------------------------------
/**
 * Stand-ins for stage 1-2, kept short: a small policy pretrained for a few hundred steps on Brown text
 * and fine-tuned on "Continue: <first words>" demonstrations, and a reward model fitted to K-way
 * rankings of real sentence endings by the simulated AFINN labeller, normalised on the policy's samples.
 */
async function standIns(): Promise<{ policy: TransformerPolicy; rm: RewardModel }> {
  const p = new TransformerPolicy({ vocabSize: tokenizer.vocabSize, contextLength: 128, nLayer: 2, nHead: 2, dModel: 64, seed: 1 });
  const pretrainSteps = QUICK ? 30 : 300;
  const text = (await brownSentences(['ca', 'cf', 'cn'], QUICK ? 10 : 60)).flatMap((s) => [...tokenizer.encode(s), eos]);
  await new LMTrainer({ policy: p, learningRate: 3e-3, batchSize: 16, sequenceLength: 64, warmupSteps: 20, decaySteps: pretrainSteps, seed: 1 })
    .train(text, { steps: pretrainSteps });
  const demos = (await brownSentences(['cb', 'cc'], QUICK ? 4 : 30))
    .filter((s) => s.split(' ').length >= 9 && s.length <= 80 && /^[\x20-\x7e]+$/.test(s))
    .map((s, i) => ({ prompt: promptOf(s, i), completion: ` ${s.split(' ').slice(4 + (i % 3)).join(' ')}` }));
  const sft = new SFTTrainer({ policy: p, tokenizer, learningRate: 1e-3, batchSize: 16, warmupSteps: 2, truncatePrompt: 'left', seed: 1 });
  await sft.train(demos.slice(0, QUICK ? 32 : 320));
  sft.dispose();
  // Rankings: each group is one prompt with the endings of 4 consecutive sentences, ranked by AFINN.
  const records: RankingExample[] = [];
  for (let i = 0; i + 4 <= demos.length; i += 4) {
    const responses = demos.slice(i, i + 4).map((d) => d.completion);
    const { ranking, scores } = rankBySentiment(responses);
    if (new Set(scores).size > 1) records.push({ prompt: demos[i]!.prompt, responses, ranking });
  }
  const r = RewardModel.fromPolicy(p);
  await new RewardTrainer({ model: r, tokenizer, learningRate: 3e-4, batchSize: 8, warmupSteps: 2, truncatePrompt: 'left', seed: 1 })
    .train(records.slice(0, QUICK ? 16 : 200), { epochs: QUICK ? 1 : 2 });
  const ids = demos.slice(0, QUICK ? 16 : 64).map((d) => tokenizer.encode(d.prompt));
  const { tokens } = await p.generate(ids, { maxNewTokens: MAX_NEW, temperature: 1, stopTokens: [eos], seed: 5 });
  await r.normalize(ids, tokens.map(withEos)); // mean 0, std 1 on the policy's samples, scored as PPO scores them
  console.log(`stand-ins: policy pretrained ${pretrainSteps} steps and fine-tuned on ${Math.min(demos.length, QUICK ? 32 : 320)} demonstrations; reward model fitted to ${Math.min(records.length, QUICK ? 16 : 200)} AFINN rankings (${secs(t0)})`);
  return { policy: p, rm: r };
}
