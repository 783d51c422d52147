/**
 * From the Hugging Face Hub and back: load GPT-2 (`openai-community/gpt2`, 124 M parameters) and its
 * tokenizer from the Hub, align it with a few PPO steps towards more positive text (the AFINN-165
 * sentiment of the response is the reward), then hand the result to the Python world: a
 * `GPT2LMHeadModel` folder with its tokenizer and a prompts JSONL that TRL and OpenRLHF read
 * (docs/guides/scale-out.md has the commands that continue from there).
 *
 *   npx tsx examples/from-hub.ts              # needs network once (about 550 MB into ~/.cache/huggingface)
 *   QUICK=1 npx tsx examples/from-hub.ts      # 2 PPO steps: a smoke run
 *
 * Knobs (environment variables): REPO (default openai-community/gpt2), REVISION (default main), STEPS,
 * OUT (default .tmp/from-hub), plus the Hub's own: HF_ENDPOINT, HF_HOME / HF_HUB_CACHE, HF_TOKEN,
 * HF_HUB_OFFLINE=1 (a second run needs no network). The download goes into the same cache as Python's
 * `huggingface_hub`, so a model Python already downloaded is not fetched again.
 *
 * GPT-2 small on a CPU is slow: a PPO step of 8 prompts takes minutes on the wasm backend. See
 * docs/benchmarks.md for what 124 M parameters cost here, and scale out with the exported folder.
 */
import {
  Gpt2Tokenizer, PPOTrainer, TransformerPolicy, exportDataset, progressLogger, useBackend, type RewardSample,
} from 'tfjs-rlhf';
import { sentimentScore } from './shared/sentiment-labeller';

const QUICK = process.env.QUICK === '1';
const REPO = process.env.REPO ?? 'openai-community/gpt2';
const REVISION = process.env.REVISION ?? 'main';
const OUT = process.env.OUT ?? '.tmp/from-hub';
const STEPS = Number(process.env.STEPS ?? (QUICK ? 2 : 20));
if (!Number.isInteger(STEPS) || STEPS < 1) throw new Error(`STEPS must be a positive integer, got ${process.env.STEPS}`);
const MAX_NEW = QUICK ? 8 : 24;
const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);

const backend = await useBackend();
const logger = progressLogger();
console.log(`backend ${backend}; loading ${REPO}@${REVISION} from ${process.env.HF_ENDPOINT ?? 'https://huggingface.co'}`);
let t = Date.now();
const tokenizer = await Gpt2Tokenizer.fromPretrained(REPO, { revision: REVISION, logger });
// GPT-2 has no pad token: the tokenizer appends one id, so the embedding grows by one row (the mean row).
const policy = await TransformerPolicy.fromPretrained(REPO, { revision: REVISION, logger, vocabSize: tokenizer.vocabSize });
console.log(`loaded ${policy.parameterCount.toLocaleString('en')} parameters (vocab ${policy.config.vocabSize}, ${policy.config.nLayer} layers, width ${policy.config.dModel}) in ${((Date.now() - t) / 1000).toFixed(1)} s`);

const prompts = ['The movie was', 'My neighbour is', 'Today at work', 'The weather this week', 'Our new teacher', 'The food at the party', 'Yesterday I met', 'The concert last night']
  .filter((p) => tokenizer.encode(p).length + MAX_NEW <= policy.config.contextLength);
const reward = (samples: RewardSample[]): number[] => samples.map((s) => sentimentScore(s.response));

async function heldOut(label: string): Promise<number> {
  const { tokens } = await policy.generate(prompts.map((p) => tokenizer.encode(p)), { maxNewTokens: MAX_NEW, temperature: 1, topK: 0, topP: 1, stopTokens: [tokenizer.eosId], seed: 7 });
  const texts = tokens.map((x) => tokenizer.decode(x));
  const scores = texts.map((x) => sentimentScore(x));
  console.log(`\n--- ${label}: mean sentiment ${mean(scores).toFixed(2)} ---`);
  texts.slice(0, QUICK ? 2 : 4).forEach((x, i) => console.log(`  ${prompts[i]}|${x.replace(/\s+/g, ' ')}`));
  return mean(scores);
}

const before = await heldOut('before PPO');
const ppo = new PPOTrainer({
  policy, reward, tokenizer, batchSize: prompts.length, miniBatchSize: 4, ppoEpochs: 2,
  learningRate: 1e-5, klCoef: 0.05, maxNewTokens: MAX_NEW, temperature: 1, seed: 1,
});
t = Date.now();
await ppo.train(prompts, {
  steps: STEPS,
  onStep: (s) => console.log(`step ${s.step}  reward ${s['objective/scores'].toFixed(2)}  kl ${s['objective/kl'].toFixed(3)}`),
});
console.log(`PPO: ${STEPS} steps in ${((Date.now() - t) / 1000).toFixed(0)} s`);
const after = await heldOut('after PPO (same prompts and seed)');
console.log(`\nmean sentiment ${before.toFixed(2)} -> ${after.toFixed(2)}`);

await policy.savePretrained(`${OUT}/policy`, { tokenizer });
const { rows } = await exportDataset(`${OUT}/prompts.jsonl`, { kind: 'prompts', prompts });
console.log(`wrote ${OUT}/policy (GPT2LMHeadModel + tokenizer) and ${OUT}/prompts.jsonl (${rows} prompts); see docs/guides/scale-out.md`);
ppo.dispose();
policy.dispose();
