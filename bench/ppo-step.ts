/**
 * PPO step benchmark on the quickstart's settings: the brown-bpe base (4.2 M parameters, 4,096-token
 * BPE), a separate critic and a reward model of the same size, 16 prompts per step, minibatches of 4,
 * 4 epochs, 20 new tokens, with 1 thread and with `workers: 'auto'` (the critic worker). Reports the
 * median seconds per step and its rollout / score / update breakdown (the trainer's own `time/*` stats).
 *
 *   npx tsup && npx tsx bench/ppo-step.ts [--quick]
 *
 * bench/run.ts imports {@link runPPOStep} and {@link ppoStepMarkdown}. It imports the BUILT package.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { useBackend, TransformerPolicy, RewardModel, PPOTrainer, loadTokenizer, type PPOStats } from '../dist/index.js';
import { sentimentTask } from '../examples/shared/sentiment-task';

const BASE = fileURLToPath(new URL('../examples/assets/brown-bpe', import.meta.url));
const BATCH = 16;
const MAX_NEW = 20;

/** One row: a worker setting. */
export interface PPOStepRow {
  workers: 1 | 'auto';
  /** Threads actually used (1, or 2 with the critic worker). */
  threads: number;
  total: number;
  rollout: number;
  score: number;
  update: number;
  /** Tensors in the critic worker after the run (empty for 1). */
  workerTensors: number[];
}

/** Result of {@link runPPOStep}. */
export interface PPOStepResult {
  cores: number;
  steps: number;
  rows: PPOStepRow[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

async function row(workers: 1 | 'auto', prompts: string[], steps: number): Promise<PPOStepRow> {
  const tokenizer = await loadTokenizer(BASE);
  const policy = await TransformerPolicy.load(BASE);
  const reward = RewardModel.fromPolicy(policy, { headSeed: 3 });
  const t = new PPOTrainer({
    policy, reward, tokenizer, batchSize: BATCH, miniBatchSize: 4, ppoEpochs: 4, learningRate: 5e-5, klCoef: 0.2,
    temperature: 1, maxNewTokens: MAX_NEW, missingEosPenalty: 1, seed: 1, workers,
  });
  const hist: PPOStats[] = [];
  for (let i = 0; i <= steps; i++) {
    const s = await t.step(prompts.slice((i * BATCH) % prompts.length, ((i * BATCH) % prompts.length) + BATCH));
    if (i > 0) hist.push(s); // the first step starts the worker and warms up
  }
  const mem = await t.workerMemory();
  t.dispose();
  policy.dispose();
  reward.dispose();
  const m = (k: keyof PPOStats) => median(hist.map((s) => s[k] as number));
  return {
    workers, threads: mem.length + 1, total: m('time/total'), rollout: m('time/rollout'), score: m('time/score'), update: m('time/update'),
    workerTensors: mem.map((x) => x.numTensors),
  };
}

/** Measures a PPO step with 1 thread and with `workers: 'auto'`. */
export async function runPPOStep(o: { quick?: boolean; log?: (l: string) => void } = {}): Promise<PPOStepResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  await useBackend('wasm');
  const tokenizer = await loadTokenizer(BASE);
  const { ppoPrompts } = await sentimentTask(tokenizer, 128, MAX_NEW, { demonstrations: 16, heldOut: 4, evaluation: 4, comparison: 8, ppo: 64 });
  const steps = o.quick ? 1 : 3;
  const rows: PPOStepRow[] = [];
  for (const w of [1, 'auto'] as const) {
    log(`ppo step: quickstart settings, workers ${w}, 1 + ${steps} steps`);
    rows.push(await row(w, ppoPrompts, steps));
  }
  return { cores: os.availableParallelism(), steps, rows };
}

const s2 = (x: number): string => x.toFixed(2);

/** The result as a markdown section for docs/benchmarks.md. */
export function ppoStepMarkdown(r: PPOStepResult): string {
  const base = r.rows[0]?.total ?? NaN;
  return [
    '### PPO step on the quickstart\'s settings, 1 thread vs `workers: \'auto\'`', '',
    `${r.cores} cores; brown-bpe base (4.2 M parameters) as policy and reference, separate critic and reward model of the same size; ` +
    `${BATCH} prompts per step, minibatches of 4, 4 epochs (16 AdamW steps), ${MAX_NEW} new tokens; median of ${r.steps} steps after one warm-up step ` +
    '(`time/*` stats of `PPOTrainer`). With `workers: \'auto\'` the critic worker computes the values, the reward scores and the critic\'s half of every update beside the policy.', '',
    '| workers | threads | s / step | speedup | rollout (s) | score: log-probs, values, reward (s) | update (s) | tensors in the worker |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    ...r.rows.map((x) => `| ${x.workers === 'auto' ? "'auto'" : x.workers} | ${x.threads} | **${s2(x.total)}** | ${s2(base / x.total)}x | ${s2(x.rollout)} | ${s2(x.score)} | ${s2(x.update)} | ${x.workerTensors.join(', ') || '-'} |`),
  ].join('\n');
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runPPOStep({ quick: process.argv.includes('--quick') }).then((r) => console.log(`\n${ppoStepMarkdown(r)}\n`), (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
