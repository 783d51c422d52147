/**
 * Stopping and resuming PPO. Runs a few PPO steps against a plain TypeScript reward, saves the whole
 * trainer with `ppo.save(dir)`, frees everything, restores it with `PPOTrainer.load(dir, { reward,
 * tokenizer })` and trains on: the step and episode counters, the KL coefficient and the prompt position
 * continue where they stopped, as if the run had never been interrupted.
 *
 *   npx tsx examples/resume-ppo.ts           # well under a minute on 2 cores (wasm backend)
 *   QUICK=1 npx tsx examples/resume-ppo.ts   # smoke run
 *
 * What a checkpoint holds (see docs/guides/ppo.md, "Checkpoints and resuming"): `policy/`, `ref/` and
 * `critic/` (config.json + model.safetensors each), `trainer.safetensors` (the Adam moments) and, written
 * last, `trainer.json` (counters, KL controller, RNG state, every resolved option). The reward and the
 * tokenizer are not saved (a reward may be a function): pass them again to `load`.
 *
 * Knobs (environment variables): QUICK=1, STEPS (steps before the save, and again after it: default 4,
 * 2 with QUICK=1), OUT (the checkpoint folder, overwritten; default `.tmp/resume-ppo`, or
 * `.tmp/quick/resume-ppo` with QUICK=1).
 *
 * At the end it reruns the same steps without stopping and checks that the stats are identical. That
 * holds on the wasm and cpu backends, which are deterministic; the example exits with code 1 when a check
 * fails there (elsewhere the comparison is printed for information).
 *
 * The policy is a fresh tiny model (no pretraining) and the reward simply pays for lower-case letters, so
 * the samples are noise; the point is the bookkeeping. The KL coefficient is adaptive (klTarget) with a
 * short horizon so that it visibly moves and is visibly restored.
 */
import { ByteTokenizer, PPOTrainer, TransformerPolicy, useBackend, type PPOStats, type RewardSample } from 'tfjs-rlhf';

const QUICK = process.env.QUICK === '1';
const STEPS = Math.floor(Number(process.env.STEPS ?? (QUICK ? 2 : 4)));
if (!Number.isInteger(STEPS) || STEPS < 1) throw new Error(`STEPS must be a positive integer, got ${process.env.STEPS}`);
const OUT = process.env.OUT ?? (QUICK ? '.tmp/quick/resume-ppo' : '.tmp/resume-ppo');

const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const backend = await useBackend();
const tokenizer = new ByteTokenizer();
console.log(`backend ${backend}${QUICK ? ' (QUICK=1: tiny settings)' : ''}`);

/** The reward: the fraction of a response's bytes that are lower-case letters (a plain function). */
const reward = (samples: RewardSample[]): number[] =>
  samples.map((s) => s.responseIds.filter((t) => t >= 97 && t <= 122).length / Math.max(1, s.responseIds.length));

const prompts = ['Once upon a time', 'The weather today', 'My favourite book', 'In the morning', 'She said', 'At the market'];
const line = (label: string, s: PPOStats) => console.log([
  `${label} step ${s.step}`, `episode ${s.episode}`, `objective/scores ${f(s['objective/scores'])}`,
  `objective/kl ${f(s['objective/kl'], 4)}`, `objective/kl_coef ${f(s['objective/kl_coef'], 6)}`,
  `policy/approxkl_avg ${f(s['policy/approxkl_avg'], 5)}`,
].join('  '));

// ---------------------------------------------------------------------------------------------------
// 1. A first run of STEPS steps.
const policy = TransformerPolicy.fromPreset('tiny', tokenizer.vocabSize, { contextLength: 48, seed: 3 });
const options = {
  reward, tokenizer, learningRate: 1e-3, batchSize: 4, miniBatchSize: 2, ppoEpochs: 2, maxNewTokens: 12,
  klCoef: 0.05, klTarget: 1, klHorizon: 50, seed: 7,
};
const first = new PPOTrainer({ policy, ...options });
const before = await first.train(prompts, { steps: STEPS, onStep: (s) => line('run 1', s) });
const last = before.at(-1) as PPOStats;

// 2. Save everything, then free it all: nothing of the first run stays in memory.
await first.save(OUT);
const savedCoef = first.kl.value;
console.log(`\nsaved the trainer to ${OUT} after step ${first.progress.step} (episode ${first.progress.episode}, KL coefficient ${f(savedCoef, 6)})`);
first.dispose();
policy.dispose();

// 3. Restore and continue. The options (learning rate, batch size, seed, ...) come from the checkpoint;
//    only the reward and the tokenizer are passed again.
const resumed = await PPOTrainer.load(OUT, { reward, tokenizer });
console.log(`loaded: step ${resumed.progress.step}, episode ${resumed.progress.episode}, KL coefficient ${f(resumed.kl.value, 6)}`
  + ` (${resumed.kl.value === savedCoef ? 'the same' : 'DIFFERENT'}), learning rate ${resumed.options.learningRate}\n`);
const after = await resumed.train(prompts, { steps: STEPS, onStep: (s) => line('run 2', s) });
const next = after[0] as PPOStats;
const continues = next.step === last.step + 1 && next.episode === last.episode + options.batchSize;
console.log(`\nstep counter continues: ${last.step} -> ${next.step} (${continues ? 'yes' : 'NO'}); episodes ${last.episode} -> ${next.episode}`);
resumed.dispose(); // frees the policy, reference and critic it loaded, and the optimizer moments

// 4. The check: the same 2 x STEPS steps without stopping give the same numbers (timings aside), because
//    the checkpoint restored the weights, Adam moments, KL coefficient, RNG state and prompt position.
const fresh = TransformerPolicy.fromPreset('tiny', tokenizer.vocabSize, { contextLength: 48, seed: 3 });
const straight = new PPOTrainer({ policy: fresh, ...options });
const uninterrupted = await straight.train(prompts, { steps: 2 * STEPS });
straight.dispose();
fresh.dispose();
const withoutTimes = (s: PPOStats) => JSON.stringify(Object.entries(s).filter(([k]) => !k.startsWith('time/')));
const identical = [...before, ...after].every((s, i) => withoutTimes(s) === withoutTimes(uninterrupted[i] as PPOStats));
console.log(`stopped and resumed vs. ${2 * STEPS} steps without stopping: ${identical ? 'identical' : 'DIFFERENT'} stats (timings aside)`);
const deterministic = backend === 'wasm' || backend === 'cpu';
if (!continues || (deterministic && !identical)) process.exit(1);
