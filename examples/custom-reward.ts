/**
 * PPO against a plain TypeScript function instead of a reward model: any `(samples) => number[]` is a
 * reward. A tiny byte-level policy, briefly pretrained on Brown-corpus text, babbles half-words; the
 * reward pays for every distinct real English word it writes (plus the AFINN-165 sentiment of the
 * response as a bonus), and PPO raises it while the KL penalty keeps the policy near its start.
 *
 *   npx tsx examples/custom-reward.ts           # about 2 minutes on 2 cores (wasm backend)
 *   QUICK=1 npx tsx examples/custom-reward.ts   # smoke run, well under a minute
 *
 * Knobs (environment variables): QUICK=1, STEPS (PPO steps), PRETRAIN_STEPS, LR, KL_COEF.
 *
 * What to expect (40 steps): the mean reward goes from about 0.4 to about 2.2, mostly with short common
 * words ("the", "in", "he", "an": the reward pays for them as much as for long ones, a mild case of
 * reward hacking), and the KL to the starting policy climbs to about 10 nats, the top of the usual 0-10
 * range. With KL_COEF=0.1 the KL stays under about 3 nats and the reward rises about half as much: the KL
 * coefficient is the price of moving away from the reference.
 *
 * Why words and not sentiment alone: a policy this small rarely writes a word that the AFINN lexicon
 * scores (about 1 response in 60), so a pure sentiment reward is almost always 0 and PPO has nothing to
 * follow. A reward that is dense (most responses get some credit, better ones get more) is what a small
 * policy can climb. Swap in your own: it receives the prompt and response text and token ids.
 */
import { ByteTokenizer, LMTrainer, PPOTrainer, TransformerPolicy, useBackend, type RewardSample } from 'tfjs-rlhf';
import { brownSentences } from './shared/brown';
import { sentimentScore, sentimentWords } from './shared/sentiment-labeller';

const QUICK = process.env.QUICK === '1';
const num = (name: string, full: number, quick: number): number => {
  const v = Number(process.env[name] ?? (QUICK ? quick : full));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number, got ${process.env[name]}`);
  return v;
};
const STEPS = Math.floor(num('STEPS', 40, 3));
const PRETRAIN_STEPS = Math.floor(num('PRETRAIN_STEPS', 300, 30));
const LR = num('LR', 1e-4, 1e-4);
const KL_COEF = num('KL_COEF', 0.05, 0.05);
const MAX_NEW = 24;

const t0 = Date.now();
const secs = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, x) => a + x, 0) / xs.length);
const backend = await useBackend();
const tokenizer = new ByteTokenizer();
console.log(`backend ${backend}${QUICK ? ' (QUICK=1: tiny settings, numbers are not meaningful)' : ''}`);

// ---------------------------------------------------------------------------------------------------
// A tiny policy (2 layers, width 64, about 0.1 M parameters) briefly pretrained on press, popular lore
// and adventure fiction (Brown categories ca, cf, cn).
const sentences = await brownSentences(['ca', 'cf', 'cn'], QUICK ? 10 : 60);
const policy = new TransformerPolicy({ vocabSize: tokenizer.vocabSize, contextLength: 64, nLayer: 2, nHead: 2, dModel: 64, seed: 1 });
const lm = new LMTrainer({ policy, learningRate: 3e-3, batchSize: 16, sequenceLength: 64, warmupSteps: Math.min(20, PRETRAIN_STEPS), decaySteps: PRETRAIN_STEPS, seed: 1 });
let t = Date.now();
await lm.train(sentences.flatMap((s) => [...tokenizer.encode(s), tokenizer.eosId]), { steps: PRETRAIN_STEPS });
console.log(`pretrained ${policy.parameterCount.toLocaleString('en')} parameters for ${PRETRAIN_STEPS} steps in ${secs(t)}`);

// ---------------------------------------------------------------------------------------------------
// The reward: a plain function of the samples. Vocabulary = words seen at least 5 times in the
// pretraining text, 2 letters or more (so "a" and "I" earn nothing and the response has to spell).
const counts = new Map<string, number>();
for (const s of sentences) for (const w of s.toLowerCase().split(/\s+/)) {
  const word = w.replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  if (/^[a-z]{2,}$/.test(word)) counts.set(word, (counts.get(word) ?? 0) + 1);
}
const vocabulary = new Set([...counts].filter(([, c]) => c >= 5).map(([w]) => w));

/** The distinct vocabulary words in `text` (repeating a word earns nothing). */
function realWords(text: string): string[] {
  const words = text.toLowerCase().split(/\s+/).map((w) => w.replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, ''));
  return [...new Set(words.filter((w) => vocabulary.has(w)))];
}

/** The two parts of the last batch's reward, for the log. */
const last = { words: 0, afinn: 0 };

/** One number per sample: +1 per distinct real word, plus the AFINN sentiment of the response. */
function reward(samples: RewardSample[]): number[] {
  const words = samples.map((s) => realWords(s.response).length);
  const afinn = samples.map((s) => sentimentScore(s.response));
  Object.assign(last, { words: mean(words), afinn: mean(afinn) });
  return words.map((w, i) => w + (afinn[i] ?? 0));
}
console.log(`reward = distinct words from a ${vocabulary.size}-word vocabulary + AFINN sentiment of the response`);

// ---------------------------------------------------------------------------------------------------
// Prompts: the first three words of sentences from romance fiction (cp), which pretraining did not see.
const prompts = (await brownSentences(['cp'], QUICK ? 3 : 20))
  .map((s) => s.split(' ').slice(0, 3).join(' '))
  .filter((p) => /^[\x20-\x7e]+$/.test(p) && p.length >= 6 && tokenizer.encode(p).length + MAX_NEW <= policy.config.contextLength);
const shown = prompts.splice(0, 24); // held out from PPO, for before/after

async function samples(label: string) {
  const { tokens } = await policy.generate(shown.map((p) => tokenizer.encode(p)), { maxNewTokens: MAX_NEW, temperature: 1, stopTokens: [tokenizer.eosId], seed: 11 });
  const texts = tokens.map((x) => tokenizer.decode(x.filter((id) => id !== tokenizer.eosId)));
  const r = reward(texts.map((response, i) => ({ prompt: shown[i] ?? '', response, promptIds: [], responseIds: tokens[i] ?? [] })));
  console.log(`\n--- ${label}: ${shown.length} held-out prompts, temperature 1, mean reward ${f(mean(r))} ---`);
  texts.slice(0, QUICK ? 2 : 5).forEach((x, i) => {
    const words = [...realWords(x), ...sentimentWords(x).map((w) => `AFINN:${w}`)];
    console.log(`  reward ${f(r[i] ?? NaN, 0).padStart(2)}  ${shown[i]}|${x}   [${words.join(' ')}]`);
  });
  return mean(r);
}

const before = await samples('before PPO');

// ---------------------------------------------------------------------------------------------------
// PPO with the recipe's defaults (klCoef 0.05, 4 epochs of minibatches of 4, clip 0.2, gamma 1, lam
// 0.95); the critic is a copy of the policy trunk with a zero value head (the default for a function).
const ppo = new PPOTrainer({
  policy, reward, tokenizer,
  batchSize: 16, miniBatchSize: 4, ppoEpochs: 4, learningRate: LR, klCoef: KL_COEF,
  maxNewTokens: MAX_NEW, temperature: 1, seed: 1,
});
console.log(`\n== PPO: ${STEPS} steps of 16 prompts, lr ${LR}, klCoef ${KL_COEF} ==`);
t = Date.now();
const history = await ppo.train(prompts, {
  steps: STEPS,
  onStep: (s) => console.log([
    `step ${String(s.step).padStart(2)}`,
    `objective/scores ${f(s['objective/scores'])}`,
    `(words ${f(last.words)}, AFINN ${f(last.afinn)})`,
    `objective/kl ${f(s['objective/kl'])}`,
    `objective/rlhf_reward ${f(s['objective/rlhf_reward'])}`,
    `policy/approxkl_avg ${f(s['policy/approxkl_avg'], 4)}`,
    `policy/clipfrac_avg ${f(s['policy/clipfrac_avg'], 3)}`,
    `val/explained_variance ${f(s['val/explained_variance'])}`,
    `time/total ${f(s['time/total'], 1)}`,
  ].join('  ')),
});
console.log(`PPO: ${STEPS} steps in ${secs(t)}`);
const k = Math.max(1, Math.min(5, Math.floor(history.length / 2)));
const avg = (xs: number[]) => f(mean(xs));
console.log(`mean objective/scores, first ${k} steps: ${avg(history.slice(0, k).map((s) => s['objective/scores']))}; last ${k} steps: ${avg(history.slice(-k).map((s) => s['objective/scores']))}`);

const after = await samples('after PPO (same prompts and seed)');
console.log(`\nheld-out mean reward ${f(before)} -> ${f(after)}`);
console.log(`done in ${secs(t0)}`);
ppo.dispose();
policy.dispose();
