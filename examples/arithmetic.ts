/**
 * Tool use, the seed's demonstration (issue 15): language models are bad at exact arithmetic, so the
 * policy learns to hand it to a calculator. Two tiny byte-level policies learn problems such as
 * "What is   4821   *  377    ?" (each operand in a fixed-width field, at a random place in it):
 *
 * - "tool": SFT on demonstrations that copy the expression into a call, `<calc>  4821   *  377    </calc>`;
 *   the runtime inserts the calculator's `1817517`, and the policy ends its answer there (`\n`);
 * - "no tool": SFT on demonstrations that write `1817517` directly (as many SFT steps);
 *
 * then GRPO on both with the exact-answer reward of the verifiable-rewards module
 * (`accuracyReward({ format: 'last-number' })`; in the tool arm the calculator's tokens are masked out
 * of the loss). Held-out greedy accuracy is measured before and after RL, on operands of the training
 * sizes (1-4 digits) and on operands larger than any in training (5-7 digits).
 *
 *   npm run build && npx tsx examples/arithmetic.ts      # full run (see examples/arithmetic/README.md)
 *   QUICK=1 npx tsx examples/arithmetic.ts               # smoke run (1-2 digit operands; the test's settings)
 *
 * Knobs (environment): SEED, TRAIN_DIGITS, LARGE_DIGITS, FIELD_WIDTH, SFT_PROBLEMS, SFT_EPOCHS,
 * GRPO_STEPS, EVAL_PROBLEMS, D_MODEL, N_LAYER, N_HEAD, SFT_LR, GRPO_LR, GRPO_BETA, ARMS (both, tool,
 * noTool), BACKEND (default wasm). Deterministic for a seed and backend.
 */
import { pathToFileURL } from 'node:url';
import {
  ByteTokenizer, GRPOTrainer, Rng, SFTTrainer, TransformerPolicy, accuracyReward, calculatorTool, useBackend,
  type BackendName, type GRPOStats, type Tokenizer, type Tool,
} from 'tfjs-rlhf';
import { callText, demonstrations, makeProblems, problemKey, type Problem } from './arithmetic/task';

/** Settings of {@link runArithmetic}; every field has a default (the full run). */
export interface ArithmeticOptions {
  /** Seed of the problems, the weights and the sampling. Default `1`. */
  seed?: number;
  /** Training operands have 1..trainDigits digits. Default `4`. */
  trainDigits?: number;
  /** The "larger" held-out set has trainDigits+1 .. trainDigits+largeDigits digits per operand. Default `3`. */
  largeDigits?: number;
  /** Characters of each operand's field in the question; >= trainDigits + largeDigits. Default `trainDigits + largeDigits`. */
  fieldWidth?: number;
  /** Distinct training problems. Default `2000`. */
  sftProblems?: number;
  /** SFT passes of the calculator arm over its examples (two per problem); the no-tool arm (one example per problem) makes twice as many, so both take the same number of steps. Default `8`. */
  sftEpochs?: number;
  /** SFT examples per step. Default `32`. */
  sftBatchSize?: number;
  /** GRPO steps per arm (4 prompts x 8 samples each); 0 skips RL. Default `10`. */
  grpoSteps?: number;
  /** Held-out problems per set. Default `100`. */
  evalProblems?: number;
  /** Width of the transformer. Default `64`. */
  dModel?: number;
  /** Layers. Default `2`. */
  nLayer?: number;
  /** Attention heads. Default `4`. */
  nHead?: number;
  /** Peak SFT learning rate (warmup 50 steps, cosine to a tenth). Default `3e-3`. */
  sftLearningRate?: number;
  /** GRPO learning rate. Default `5e-5`. */
  grpoLearningRate?: number;
  /** GRPO KL coefficient. Default `0.04`. */
  grpoBeta?: number;
  /** Which arms to run: `'both'`, or only `'tool'` / `'noTool'` (the other's numbers are then NaN). Default `'both'`. */
  arms?: 'both' | 'tool' | 'noTool';
  /** Backend. Default `'wasm'`. */
  backend?: BackendName;
  /** Progress lines. Default: none. */
  log?: (line: string) => void;
}

/** Held-out exact-answer accuracy on the two sets. */
export interface Accuracy {
  /** Operands of the training sizes. */
  train: number;
  /** Operands larger than any in training. */
  large: number;
}

/** What the tool policy did on the held-out sets (all 0 for the no-tool arm). */
export interface ToolUse {
  /** Per held-out set, the fraction of responses that start with a well-formed call: `<calc>...</calc>` around digits and `+-*` that the calculator evaluates without error. */
  wellFormedCalls: Accuracy;
  /** Per held-out set, the fraction that start with the exact call of their problem (operands copied right). */
  exactCalls: Accuracy;
  /** Of the well-formed calls, the fraction followed by the calculator's exact result, marked as tool-written. */
  resultInserted: number;
}

/** One arm's results. */
export interface ArmResult {
  /** After SFT. */
  sft: Accuracy;
  /** After SFT and GRPO. */
  grpo: Accuracy;
  /** Tool use after SFT, on both sets. */
  sftToolUse: ToolUse;
  /** A few greedy responses after SFT and after GRPO (one of each held-out set), for the reader. */
  samples: string[];
  /** GRPO mean reward of the first and last five steps. */
  rlReward: { first: number; last: number };
}

/** Result of {@link runArithmetic}. */
export interface ArithmeticResult {
  /** The arm that answers directly. */
  noTool: ArmResult;
  /** The arm that calls the calculator. */
  tool: ArmResult;
  /** The resolved settings. */
  settings: Required<Omit<ArithmeticOptions, 'log'>>;
  /** Wall time in seconds. */
  seconds: number;
}

/** A call at the start of a response whose input is digits, operators and spaces only. */
const WELL_FORMED = /^<calc>([0-9+\-* ]+)<\/calc>/;
/** The exact-answer reward: the last number of the response (the calculator's result, or the policy's own answer) against the gold answer. */
const answerReward = () => accuracyReward({ format: 'last-number' });
const env = (k: string): number | undefined => (process.env[k] === undefined ? undefined : Number(process.env[k]));

/** Greedy answers of `policy` to `problems`, scored by the verifiable reward; tool use counted. */
async function evaluate(policy: TransformerPolicy, tok: Tokenizer, problems: readonly Problem[], tools: Tool[], maxNewTokens: number) {
  const reward = answerReward();
  const calculator = calculatorTool();
  let correct = 0;
  let calls = 0;
  let exact = 0;
  let inserted = 0;
  const responses: string[] = [];
  for (let i = 0; i < problems.length; i += 50) {
    const chunk = problems.slice(i, i + 50);
    const promptIds = chunk.map((p) => tok.encode(p.prompt));
    const g = await policy.generate(promptIds, {
      maxNewTokens, temperature: 0, stopTokens: [tok.eosId], ...(tools.length > 0 && { tools, tokenizer: tok, maxToolCalls: 2 }),
    });
    const samples = chunk.map((p, b) => ({
      prompt: p.prompt, promptIds: promptIds[b] as number[], responseIds: g.tokens[b] as number[],
      response: tok.decode(g.tokens[b] as number[]), answer: p.answer,
    }));
    correct += (await reward(samples)).reduce((a, x) => a + x, 0);
    for (const [b, p] of chunk.entries()) {
      const s = samples[b]!;
      responses.push(s.response);
      const call = tools.length === 0 ? null : WELL_FORMED.exec(s.response);
      const result = call === null ? undefined : await calculator.run(call[1] as string);
      if (call === null || result === undefined || result.startsWith('error:')) continue;
      calls++;
      if (call[0] === callText(p)) exact++;
      // Right after the call, the tokens marked as tool-written must be the calculator's answer to it.
      const marked = g.fromTool?.[b] ?? [];
      const start = tok.encode(call[0]).length;
      let end = start;
      while (marked[end] === true) end++;
      const written = tok.decode(s.responseIds.slice(start, end));
      if (end > start && written === result) inserted++;
    }
  }
  return { accuracy: correct / problems.length, calls, exact, inserted, responses };
}

/** SFT, evaluation, GRPO and evaluation of one arm. */
async function runArm(tool: boolean, s: ArithmeticResult['settings'], sets: { train: Problem[]; rl: Problem[]; heldTrain: Problem[]; heldLarge: Problem[] }, ctx: number, maxNewTokens: number, log: (l: string) => void): Promise<ArmResult> {
  const name = tool ? 'tool' : 'no tool';
  const tok = new ByteTokenizer();
  const tools = tool ? [calculatorTool()] : [];
  const policy = new TransformerPolicy({ vocabSize: tok.vocabSize, contextLength: ctx, nLayer: s.nLayer, nHead: s.nHead, dModel: s.dModel, seed: s.seed });
  // End-of-answer examples reach as far along the position table as the larger sets' longer results (2 more characters per extra operand digit).
  const examples = demonstrations(sets.train, tool, new Rng(s.seed + 7), 2 * s.largeDigits);
  const epochs = tool ? s.sftEpochs : 2 * s.sftEpochs;
  const sft = new SFTTrainer({ policy, tokenizer: tok, batchSize: s.sftBatchSize, learningRate: s.sftLearningRate, warmupSteps: 50, weightDecay: 0.01, seed: s.seed, workers: 1 });
  const total = Math.ceil(examples.length / s.sftBatchSize) * epochs;
  const t0 = performance.now();
  await sft.train(examples, {
    epochs,
    onStep: (st) => { if (st.step % 100 === 0 || st.step === total) log(`[${name}] SFT step ${st.step}/${total}  loss ${st.loss.toFixed(3)}  (${((performance.now() - t0) / 1000).toFixed(0)} s)`); },
  });
  sft.dispose();
  const measure = async () => {
    const t = await evaluate(policy, tok, sets.heldTrain, tools, maxNewTokens);
    const l = await evaluate(policy, tok, sets.heldLarge, tools, maxNewTokens);
    return { acc: { train: t.accuracy, large: l.accuracy }, t, l };
  };
  const before = await measure();
  const calls = before.t.calls + before.l.calls;
  const sftToolUse: ToolUse = {
    wellFormedCalls: { train: before.t.calls / sets.heldTrain.length, large: before.l.calls / sets.heldLarge.length },
    exactCalls: { train: before.t.exact / sets.heldTrain.length, large: before.l.exact / sets.heldLarge.length },
    resultInserted: calls === 0 ? 0 : (before.t.inserted + before.l.inserted) / calls,
  };
  const w = sftToolUse.wellFormedCalls;
  log(`[${name}] after SFT: accuracy ${before.acc.train.toFixed(3)} (training sizes), ${before.acc.large.toFixed(3)} (larger)`
    + (tool ? `; well-formed calls ${w.train.toFixed(3)} / ${w.large.toFixed(3)}, exact calls ${sftToolUse.exactCalls.train.toFixed(3)} / ${sftToolUse.exactCalls.large.toFixed(3)}, result inserted ${sftToolUse.resultInserted.toFixed(3)}` : ''));
  let history: GRPOStats[] = [];
  let after = before;
  if (s.grpoSteps > 0) {
    const grpo = new GRPOTrainer({
      policy, tokenizer: tok, reward: answerReward(), tools, maxToolCalls: 2, numGenerations: 8, batchSize: 4,
      maxNewTokens, temperature: 1, learningRate: s.grpoLearningRate, beta: s.grpoBeta, seed: s.seed, sampleEvery: 0,
    });
    history = await grpo.train(sets.rl.map((p) => ({ prompt: p.prompt, answer: p.answer })), {
      steps: s.grpoSteps,
      onStep: (st) => { if (st.step % 10 === 0 || st.step === s.grpoSteps) log(`[${name}] GRPO step ${st.step}/${s.grpoSteps}  reward ${st.reward.toFixed(3)}  kl ${st.kl.toFixed(4)}  calls/response ${st['tools/calls_per_response'].toFixed(2)}`); },
    });
    grpo.dispose();
    after = await measure();
  }
  log(`[${name}] after GRPO: accuracy ${after.acc.train.toFixed(3)} (training sizes), ${after.acc.large.toFixed(3)} (larger)`);
  policy.dispose();
  const mean = (h: GRPOStats[]) => h.reduce((a, x) => a + x.reward, 0) / Math.max(1, h.length);
  return {
    sft: before.acc, grpo: after.acc, sftToolUse,
    samples: [['SFT', before], ['SFT + GRPO', after]].flatMap(([stage, m]) => {
      const show = (p: Problem, r: string | undefined) => `${name}, ${stage}: ${p.prompt.trim()} -> ${JSON.stringify(r)} (answer ${p.answer})`;
      const { t, l } = m as typeof after;
      return [show(sets.heldTrain[0] as Problem, t.responses[0]), show(sets.heldLarge[0] as Problem, l.responses[0])];
    }),
    rlReward: { first: mean(history.slice(0, 5)), last: mean(history.slice(-5)) },
  };
}

/** Runs the whole demonstration: both arms, before and after RL, on both held-out sets. */
export async function runArithmetic(options: ArithmeticOptions = {}): Promise<ArithmeticResult> {
  const t0 = performance.now();
  const s: ArithmeticResult['settings'] = {
    seed: options.seed ?? 1, trainDigits: options.trainDigits ?? 4, largeDigits: options.largeDigits ?? 3,
    fieldWidth: options.fieldWidth ?? (options.trainDigits ?? 4) + (options.largeDigits ?? 3),
    sftProblems: options.sftProblems ?? 2000, sftEpochs: options.sftEpochs ?? 8, sftBatchSize: options.sftBatchSize ?? 32,
    grpoSteps: options.grpoSteps ?? 10, evalProblems: options.evalProblems ?? 100, dModel: options.dModel ?? 64,
    nLayer: options.nLayer ?? 2, nHead: options.nHead ?? 4, sftLearningRate: options.sftLearningRate ?? 3e-3,
    grpoLearningRate: options.grpoLearningRate ?? 5e-5, grpoBeta: options.grpoBeta ?? 0.04, arms: options.arms ?? 'both',
    backend: options.backend ?? 'wasm',
  };
  const reals = new Set(['sftLearningRate', 'grpoLearningRate', 'grpoBeta']);
  for (const [k, v] of Object.entries(s)) {
    if (typeof v !== 'number') continue;
    const ok = reals.has(k) ? Number.isFinite(v) && v >= 0 : Number.isInteger(v) && v >= (k === 'grpoSteps' ? 0 : 1);
    if (!ok) throw new Error(`${k} must be ${reals.has(k) ? 'a finite number >= 0' : 'an integer >= 1'}, got ${v}`);
  }
  const log = options.log ?? (() => {});
  await useBackend(s.backend);
  const D = s.trainDigits;
  const Dmax = D + s.largeDigits;
  const W = s.fieldWidth;
  if (W < Dmax) throw new Error(`fieldWidth must be >= trainDigits + largeDigits = ${Dmax}, got ${W}`);
  const train = makeProblems(s.seed, s.sftProblems, 1, D, W);
  const seen = new Set(train.map(problemKey));
  const heldTrain = makeProblems(s.seed + 1, s.evalProblems, 1, D, W, seen);
  const heldLarge = makeProblems(s.seed + 2, s.evalProblems, D + 1, Dmax, W);
  const sets = { train, rl: train, heldTrain, heldLarge };
  // Longest completion: call (two fields, " * ", 13 marker bytes), result (<= 2 Dmax digits), "\n", EOS.
  const maxNewTokens = (2 * W + 16) + 2 * Dmax + 2;
  const promptLength = (heldLarge[0] ?? train[0] as Problem).prompt.length; // every prompt has the same length
  const ctx = 8 * Math.ceil((promptLength + maxNewTokens + 2 * s.largeDigits) / 8);
  log(`${train.length} training problems (operands of 1-${D} digits), held out: ${heldTrain.length} of the training sizes, ${heldLarge.length} with ${D + 1}-${Dmax} digits; fields of ${W} characters, context ${ctx}`);
  const skipped: ArmResult = {
    sft: { train: NaN, large: NaN }, grpo: { train: NaN, large: NaN }, samples: [], rlReward: { first: NaN, last: NaN },
    sftToolUse: { wellFormedCalls: { train: 0, large: 0 }, exactCalls: { train: 0, large: 0 }, resultInserted: 0 },
  };
  const tool = s.arms === 'noTool' ? skipped : await runArm(true, s, sets, ctx, maxNewTokens, log);
  const noTool = s.arms === 'tool' ? skipped : await runArm(false, s, sets, ctx, maxNewTokens, log);
  return { noTool, tool, settings: s, seconds: (performance.now() - t0) / 1000 };
}

/** The table of a result, as Markdown. */
export function arithmeticTable(r: ArithmeticResult): string {
  const D = r.settings.trainDigits;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const row = (name: string, a: Accuracy) => `| ${name} | ${pct(a.train)} | ${pct(a.large)} |`;
  return [
    `| policy | held-out, 1-${D} digits (training sizes) | held-out, ${D + 1}-${D + r.settings.largeDigits} digits (larger) |`,
    '| --- | --- | --- |',
    row('no tool, SFT', r.noTool.sft), row('no tool, SFT + GRPO', r.noTool.grpo),
    row('calculator, SFT', r.tool.sft), row('calculator, SFT + GRPO', r.tool.grpo),
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.env.QUICK === '1';
  const r = await runArithmetic({
    seed: env('SEED'), trainDigits: env('TRAIN_DIGITS') ?? (quick ? 2 : undefined), largeDigits: env('LARGE_DIGITS') ?? (quick ? 1 : undefined),
    fieldWidth: env('FIELD_WIDTH'),
    sftProblems: env('SFT_PROBLEMS') ?? (quick ? 400 : undefined), sftEpochs: env('SFT_EPOCHS') ?? (quick ? 16 : undefined),
    grpoSteps: env('GRPO_STEPS') ?? (quick ? 2 : undefined), evalProblems: env('EVAL_PROBLEMS') ?? (quick ? 20 : undefined),
    dModel: env('D_MODEL'), nLayer: env('N_LAYER') ?? (quick ? 2 : undefined), nHead: env('N_HEAD'),
    sftLearningRate: env('SFT_LR'), grpoLearningRate: env('GRPO_LR'), grpoBeta: env('GRPO_BETA'),
    arms: process.env.ARMS as ArithmeticOptions['arms'],
    backend: (process.env.BACKEND as BackendName | undefined) ?? 'wasm',
    log: (l) => console.log(l),
  });
  console.log(`\n${arithmeticTable(r)}\n`);
  for (const arm of [r.noTool, r.tool]) for (const line of arm.samples) console.log(`  ${line}`);
  console.log(`\nsettings ${JSON.stringify(r.settings)}; wall time ${r.seconds.toFixed(0)} s`);
}
