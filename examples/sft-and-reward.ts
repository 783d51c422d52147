/**
 * Stages 1 and 2 of RLHF (InstructGPT) on real text: supervised fine-tuning on demonstrations built
 * from the Brown corpus, then a reward model trained on K-way rankings of the SFT policy's own samples.
 *
 *   npm run build && npx tsx examples/sft-and-reward.ts    # about 2-3 minutes on 2 cores (wasm backend)
 *   QUICK=1 npx tsx examples/sft-and-reward.ts             # smoke test, well under a minute
 *
 * Stage 0 loads the policy saved by examples/pretrain-brown.ts (`.tmp/pretrained-brown`: run `npm run
 * demo` first) or, when it is missing, pretrains one here for PRETRAIN_STEPS steps (minutes more).
 * The SFT policy and the reward model are saved to `.tmp/sft-policy` and `.tmp/reward-model` for PPO.
 *
 * Knobs (environment variables): QUICK=1 (tiny settings), PRETRAINED (folder), PRETRAIN_STEPS,
 * SFT_EXAMPLES, SFT_EPOCHS, RM_PROMPTS, TEMPLATED, RM_EPOCHS, RM_LR, OUT_DIR (default `.tmp`; with
 * QUICK=1 `.tmp/quick`, so a smoke run never overwrites the real checkpoints).
 *
 * The labeller is SIMULATED: the AFINN-165 sentiment lexicon (the `sentiment` npm package) ranks the
 * candidates, preferring the more positive text. It stands in for the people who rank answers in real
 * RLHF (see examples/shared/sentiment-labeller.ts); the task is the "continue the text with positive
 * sentiment" task of Ziegler et al. (2019), with a word list in place of their sentiment classifier.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  ByteTokenizer, LMTrainer, RewardModel, RewardTrainer, Rng, SFTTrainer, TransformerPolicy, useBackend,
  preferencePairsFromRanking, type RankingExample, type RewardStats, type SFTExample,
} from 'tfjs-rlhf';
import { brownSentences } from './shared/brown';
import { rankBySentiment, sentimentScore, sentimentWords } from './shared/sentiment-labeller';

const QUICK = process.env.QUICK === '1';
function knob(name: string, full: number, quick: number, min = 1): number {
  const v = Number(process.env[name] ?? (QUICK ? quick : full));
  if (!Number.isFinite(v) || v < min) throw new Error(`${name} must be a number >= ${min}, got ${process.env[name]}`);
  return v;
}
const PRETRAIN_STEPS = Math.floor(knob('PRETRAIN_STEPS', 300, 20));
const SFT_EXAMPLES = Math.floor(knob('SFT_EXAMPLES', 480, 32));
const SFT_EPOCHS = Math.floor(knob('SFT_EPOCHS', 1, 1));
const RM_PROMPTS = Math.floor(knob('RM_PROMPTS', 96, 16));
const TEMPLATED = Math.floor(knob('TEMPLATED', 160, 24, 0));
const RM_EPOCHS = Math.floor(knob('RM_EPOCHS', 2, 1));
const RM_LR = knob('RM_LR', 1e-3, 1e-3, 0);
const PRETRAINED = process.env.PRETRAINED ?? '.tmp/pretrained-brown';
const OUT_DIR = process.env.OUT_DIR ?? (QUICK ? '.tmp/quick' : '.tmp');
const K = 4; // samples per prompt that the labeller ranks (InstructGPT: 4 to 9)
const MAX_NEW = 72; // response length cap in bytes when sampling; every prompt leaves room for it

const secs = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;
const f3 = (x: number) => x.toFixed(3);

async function main(): Promise<void> {
  const t0 = Date.now();
  const backend = await useBackend();
  const tokenizer = new ByteTokenizer();
  const eos = tokenizer.eosId;
  console.log(`backend ${backend}${QUICK ? ' (QUICK=1: tiny settings, the numbers mean nothing)' : ''}`);

  // ---------------------------------------------------------------------------------------------------
  console.log('\n== Stage 0: a pretrained policy ==');
  let policy: TransformerPolicy;
  if (existsSync(join(PRETRAINED, 'config.json'))) {
    policy = await TransformerPolicy.load(PRETRAINED);
    if (policy.config.vocabSize !== tokenizer.vocabSize) {
      throw new Error(`${PRETRAINED} has vocabSize ${policy.config.vocabSize}, not the ByteTokenizer's ${tokenizer.vocabSize}`);
    }
    console.log(`loaded ${PRETRAINED} (${policy.parameterCount.toLocaleString('en')} parameters, context ${policy.config.contextLength})`);
  } else {
    // The recipe of examples/pretrain-brown.ts: next-byte prediction on press reportage, popular lore and
    // adventure fiction (Brown categories ca, cf, cn). The SFT and reward data below come from others.
    console.log(`${PRETRAINED} not found (\`npm run demo\` makes it); pretraining ${PRETRAIN_STEPS} steps here`);
    const stream = (await brownSentences(['ca', 'cf', 'cn'], 60)).flatMap((s) => [...tokenizer.encode(s), eos]);
    policy = TransformerPolicy.fromPreset('micro', tokenizer.vocabSize, { contextLength: 128, seed: 1 });
    const lm = new LMTrainer({
      policy, learningRate: 2e-3, batchSize: 8, sequenceLength: 96, warmupSteps: Math.min(30, PRETRAIN_STEPS), decaySteps: PRETRAIN_STEPS, seed: 1,
    });
    const t = Date.now();
    await lm.train(stream, {
      steps: PRETRAIN_STEPS,
      onStep: (s) => { if (s.step % 100 === 0 || s.step === PRETRAIN_STEPS) console.log(`pretrain step ${s.step}/${PRETRAIN_STEPS}  loss ${f3(s.loss)}`); },
    });
    console.log(`pretrained in ${secs(t)}`);
  }
  const ctx = policy.config.contextLength;

  // ---------------------------------------------------------------------------------------------------
  console.log('\n== Stage 1: supervised fine-tuning (SFT) ==');
  // Demonstrations from real text: press reviews (cc) and editorials (cb), which pretraining did not see.
  // Task: given the first 4-6 words of a sentence, write the rest of it, then stop (EOS). The completion
  // starts with the space, so the prompt has no trailing one:
  //   { prompt: 'Continue: It is not news that', completion: ' Nathan Milstein is a wizard of the violin.' }
  const rng = new Rng(42);
  const sentences = rng.shuffle((await brownSentences(['cc', 'cb']))
    .filter((s) => s.split(' ').length >= 9 && s.length >= 40 && s.length <= 100 && /^[\x20-\x7e]+$/.test(s)));
  const toExample = (s: string, i: number): SFTExample => {
    const words = s.split(' ');
    const n = 4 + (i % 3);
    return { prompt: `Continue: ${words.slice(0, n).join(' ')}`, completion: ` ${words.slice(n).join(' ')}` };
  };
  const examples = sentences.map(toExample).filter((e) =>
    tokenizer.encode(e.prompt + e.completion).length + 1 <= ctx && tokenizer.encode(e.prompt).length + MAX_NEW <= ctx);
  // Disjoint splits: SFT held-out, reward-model prompts, SFT training.
  const sftHeld = examples.slice(0, QUICK ? 16 : 64);
  const rmPool = examples.slice(sftHeld.length, sftHeld.length + RM_PROMPTS);
  const sftTrain = examples.slice(sftHeld.length + rmPool.length, sftHeld.length + rmPool.length + SFT_EXAMPLES);
  console.log(`${examples.length} demonstrations from Brown cc+cb: ${sftTrain.length} for training, ${sftHeld.length} held out, ${rmPool.length} prompts kept for stage 2`);
  console.log(`e.g. ${JSON.stringify(sftTrain[0])}`);

  // Loss on completion tokens and the EOS appended after them only; token mean over the batch.
  const sft = new SFTTrainer({ policy, tokenizer, learningRate: 5e-4, batchSize: 16, warmupSteps: 5, seed: 1 });
  const shownHeld = sftHeld.slice(0, 3);
  const showSamples = async (label: string) => {
    const prompts = shownHeld.map((e) => tokenizer.encode(e.prompt));
    const greedy = await policy.generate(prompts, { maxNewTokens: MAX_NEW, temperature: 0, stopTokens: [eos] });
    const warm = await policy.generate(prompts, { maxNewTokens: MAX_NEW, temperature: 0.7, stopTokens: [eos], seed: 7 });
    const end = (ids: number[]) => (ids.at(-1) === eos ? '<eos>' : '...');
    const printable = (ids: number[]) => tokenizer.decode(ids).replace(/[^\x20-\x7e]/g, '?'); // no control bytes on the terminal
    console.log(`--- held-out prompts ${label}: greedy, then temperature 0.7 ---`);
    shownHeld.forEach((e, i) => {
      const g = greedy.tokens[i] ?? [];
      const w = warm.tokens[i] ?? [];
      console.log(`${e.prompt}|${printable(g)}${end(g)}`);
      console.log(`${' '.repeat(e.prompt.length)}|${printable(w)}${end(w)}`);
    });
  };
  const before = await sft.evaluate(sftHeld);
  console.log(`held-out completion loss before SFT: ${f3(before.loss)} nats/token (perplexity ${before.perplexity.toFixed(2)}, ${before.tokens} tokens)`);
  if (before.loss > 3) {
    console.log(`warning: the starting policy looks barely trained (${f3(before.loss)} nats/token; the 400-step demo gives about 2.46).`
      + ' rerun `npm run demo` to save the real one in .tmp/pretrained-brown.');
  }
  await showSamples('before SFT');
  let t = Date.now();
  const sftHistory = await sft.train(sftTrain, {
    epochs: SFT_EPOCHS,
    onStep: (s) => { if (s.step % 10 === 0) console.log(`sft step ${s.step}  loss ${f3(s.loss)}  lr ${s.lr.toExponential(1)}  ${Math.round(s.tokensPerSecond)} completion tok/s`); },
  });
  console.log(`SFT: ${sftHistory.length} steps in ${secs(t)}`);
  const after = await sft.evaluate(sftHeld);
  console.log(`held-out completion loss after SFT: ${f3(after.loss)} nats/token (perplexity ${after.perplexity.toFixed(2)})`);
  await showSamples('after SFT');
  sft.dispose();

  // ---------------------------------------------------------------------------------------------------
  console.log('\n== Stage 2: reward model ==');
  // 1. Sample K responses per prompt from the SFT policy, as PPO will: temperature 1, stop at EOS.
  t = Date.now();
  const promptIds = rmPool.map((e) => tokenizer.encode(e.prompt));
  const rows = promptIds.flatMap((p) => Array.from({ length: K }, () => p));
  const sampled: number[][] = [];
  for (let i = 0; i < rows.length; i += 64) {
    const { tokens } = await policy.generate(rows.slice(i, i + 64), { maxNewTokens: MAX_NEW, temperature: 1, stopTokens: [eos], seed: 1000 + i });
    sampled.push(...tokens);
  }
  // What the labeller reads: the printable ASCII of a sample (a byte-level model can emit bytes that are
  // not valid UTF-8; decoding turns them into U+FFFD, which would re-encode longer). The corpus is ASCII.
  const readable = (ids: number[]) => tokenizer.decode(ids).replace(/[^\x20-\x7e]/g, '');
  const endedWithEos = sampled.filter((ids) => ids.at(-1) === eos).length;
  const scored = sampled.filter((ids) => sentimentScore(readable(ids)) !== 0).length;
  console.log(`sampled ${K} responses for each of ${rmPool.length} prompts in ${secs(t)}: ${endedWithEos}/${sampled.length} ended with EOS, ${scored}/${sampled.length} contain a word the labeller scores`);

  // 2. The simulated labeller (AFINN-165: higher is better, equal scores tie) ranks each prompt's
  //    candidates into a { prompt, responses, ranking } record (ranking[i] = rank of responses[i], 0 best).
  //
  //    What is mixed in, and why. A 0.8 M-parameter byte-level model pretrained on a few hundred thousand
  //    bytes writes word-like gibberish: only a few percent of its samples contain a whole lexicon word, so
  //    nearly every prompt's K samples would tie (and a record with all ties gives no comparison). So:
  //    (a) each record also holds the sentence's real continuation from the corpus (the human
  //        demonstration; a scored word in about 45% of them), much as Stiennon et al. (2020) put human
  //        reference summaries beside policy samples; and
  //    (b) the labeller also ranks TEMPLATED reviews, four short clauses per record such as
  //        " and the music was superb." / " but the cast was dull.", which teach the lexicon's most
  //        common words in few steps. They are not policy samples; their accuracy is reported apart.
  //    All-tied records are dropped; held-out numbers are given per kind below.
  interface Ranked extends RankingExample { promptIds: number[]; scores: number[]; fromPolicy: boolean[] }
  const sampleRecords: Ranked[] = rmPool.map((e, p) => {
    const responses = [...sampled.slice(p * K, (p + 1) * K).map(readable), e.completion];
    return { prompt: e.prompt, promptIds: promptIds[p] ?? [], responses, ...rankBySentiment(responses), fromPolicy: responses.map((_, i) => i < K) };
  }).filter((r) => new Set(r.scores).size > 1);
  const templated: RankingExample[] = [];
  const trng = new Rng(7);
  while (templated.length < TEMPLATED) {
    const responses = Array.from({ length: 4 }, () => templatedReview(trng));
    const { ranking, scores } = rankBySentiment(responses);
    if (new Set(responses).size === 4 && new Set(scores).size > 1) {
      templated.push({ prompt: rmPool[templated.length % rmPool.length]?.prompt ?? 'Continue:', responses, ranking });
    }
  }
  const record = (r: RankingExample): RankingExample => ({ prompt: r.prompt, responses: r.responses, ranking: r.ranking });
  const cutS = Math.floor(sampleRecords.length * 0.8);
  const cutT = Math.floor(templated.length * 0.8);
  const rmTrain = [...sampleRecords.slice(0, cutS).map(record), ...templated.slice(0, cutT)];
  const heldSamples = sampleRecords.slice(cutS).map(record);
  const heldTemplated = templated.slice(cutT);
  // Held-out comparisons between two policy samples only: what the reward model must judge during PPO.
  const heldPolicyOnly = sampleRecords.slice(cutS).map((r) => {
    const responses = r.responses.filter((_, i) => r.fromPolicy[i]);
    return { prompt: r.prompt, responses, ranking: rankBySentiment(responses).ranking };
  }).filter((r) => new Set(r.ranking).size > 1);
  const pairs = (rs: RankingExample[]) => rs.reduce((a, r) => a + preferencePairsFromRanking(r).filter((q) => q.chosen !== q.rejected).length, 0);
  console.log(`labeller: ${sampleRecords.length}/${rmPool.length} prompts give a comparison (${K} samples + the corpus continuation each); ${templated.length} templated records`);
  console.log(`training: ${rmTrain.length} records, ${pairs(rmTrain)} pairs; held out: ${heldSamples.length} sample records (${pairs(heldSamples)} pairs, ${pairs(heldPolicyOnly)} of them sample vs sample), ${heldTemplated.length} templated (${pairs(heldTemplated)} pairs)`);
  const ex = sampleRecords.find((r) => r.scores.slice(0, K).some((x) => x !== 0)) ?? sampleRecords[0];
  if (ex) {
    console.log(`e.g. ${JSON.stringify(ex.prompt)}`);
    ex.responses.forEach((r, i) => console.log(`  rank ${ex.ranking[i]}  AFINN ${String(ex.scores[i]).padStart(2)}  ${ex.fromPolicy[i] ? 'sample' : 'corpus'}  ${JSON.stringify(r)}`));
  }
  const t0r = templated[0];
  if (t0r) console.log(`  templated: ${t0r.responses.map((r, i) => `${JSON.stringify(r)} rank ${t0r.ranking[i]}`).join(', ')}`);
  if (rmTrain.length === 0 || heldSamples.length + heldTemplated.length === 0) throw new Error('too few ranked records; raise RM_PROMPTS or TEMPLATED');

  // 3. The reward model: a copy of the SFT policy's trunk plus a fresh scalar head N(0, 1/sqrt(d+1)),
  //    read at the last real token. All comparisons of a record share a batch, each weighted 1/(its
  //    pairs); EOS is appended to every response (appendEos, the default), as PPO samples end with it.
  const rm = RewardModel.fromPolicy(policy);
  const rmSteps = RM_EPOCHS * Math.ceil(rmTrain.length / 4);
  const rmTrainer = new RewardTrainer({
    model: rm, tokenizer, learningRate: RM_LR, batchSize: 4, warmupSteps: Math.min(5, rmSteps), decaySteps: Math.max(5, rmSteps),
    centerRewardsCoef: 0.01, seed: 1,
  });
  const report = async (label: string, data: RankingExample[]) => {
    if (data.length === 0) return void console.log(`${label}: none`);
    const s: RewardStats = await rmTrainer.evaluate(data);
    console.log(`${label}: accuracy ${f3(s.accuracy)}  loss ${f3(s.loss)}  margin ${f3(s.margin)}  chosen ${f3(s.chosenReward)}  rejected ${f3(s.rejectedReward)}  (${s.pairs} pairs)`);
  };
  await report('held-out sample records, untrained head', heldSamples);
  await report('held-out templated, untrained head', heldTemplated);
  t = Date.now();
  await rmTrainer.train(rmTrain, {
    epochs: RM_EPOCHS,
    onStep: (s) => { if (s.step % 10 === 0 || s.step === rmSteps) console.log(`rm step ${s.step}/${rmSteps}  loss ${f3(s.loss)}  accuracy ${f3(s.accuracy)}  margin ${f3(s.margin)}`); },
  });
  console.log(`reward model: ${rmSteps} steps in ${secs(t)}`);
  await report('training records', rmTrain);
  await report('held-out sample records (samples + corpus continuation)', heldSamples);
  await report('held-out, sample vs sample only', heldPolicyOnly);
  await report('held-out templated reviews', heldTemplated);

  // 4. Normalise: gain and bias so that the SFT policy's samples score mean 0, std 1 (what PPO's reward
  //    sees), scored as the trainer saw responses: prompt + response + EOS.
  const withEos = (ids: number[]) => (ids.at(-1) === eos ? ids : [...ids, eos]);
  const norm = await rm.normalize(rows, sampled.map(withEos));
  console.log(`normalised on ${sampled.length} SFT samples: gain ${f3(norm.gain)}, bias ${f3(norm.bias)}`);
  const cands = sampleRecords.slice(cutS).flatMap((r) => r.responses.map((text, i) => ({ prompt: r.prompt, promptIds: r.promptIds, text, afinn: r.scores[i] ?? 0, kind: r.fromPolicy[i] ? 'sample' : 'corpus' })));
  if (cands.length > 0) {
    const rewards = await rm.score(cands.map((c) => c.promptIds), cands.map((c) => withEos(tokenizer.encode(c.text))));
    const sorted = cands.map((c, i) => ({ ...c, reward: rewards[i] ?? 0 })).sort((a, b) => b.reward - a.reward);
    const line = (x: (typeof sorted)[number]) =>
      `  reward ${x.reward >= 0 ? ' ' : ''}${x.reward.toFixed(2)}  AFINN ${String(x.afinn).padStart(2)} [${sentimentWords(x.text).join(' ')}]  ${x.kind}  ${x.prompt}|${x.text}`;
    console.log(`held-out candidates by normalised reward (Spearman correlation with AFINN ${f3(spearman(rewards, cands.map((c) => c.afinn)))}, ${cands.length} texts):`);
    sorted.slice(0, 3).forEach((x) => console.log(line(x)));
    if (sorted.length > 6) console.log('  ...');
    sorted.slice(Math.max(3, sorted.length - 3)).forEach((x) => console.log(line(x)));
  }

  // 5. Checkpoints for PPO: the SFT policy (initial and reference policy) and the reward model.
  await policy.save(join(OUT_DIR, 'sft-policy'));
  await rm.save(join(OUT_DIR, 'reward-model'));
  console.log(`\nsaved ${join(OUT_DIR, 'sft-policy')} and ${join(OUT_DIR, 'reward-model')} (config.json + model.safetensors; the normalisation is saved with the reward model)`);
  console.log(`done in ${secs(t0)}`);
  rm.dispose();
  policy.dispose();
}

const positive = ['good', 'great', 'lovely', 'superb', 'brilliant', 'excellent', 'perfect', 'fantastic', 'amazing', 'wonderful', 'charming', 'beautiful'];
const negative = ['bad', 'awful', 'boring', 'dull', 'terrible', 'horrible', 'poor', 'stupid', 'disappointing', 'ugly', 'weak', 'worst'];
const neutral = ['long', 'new', 'old', 'short', 'quiet', 'late', 'loud', 'slow'];
const subjects = ['the music', 'the play', 'the cast', 'the book', 'the singing', 'the speech', 'the plan', 'the result'];
const joins = ['and', 'but', 'so', 'while'];

/** A short review-like clause, e.g. `" but the cast was dull."` (a third positive, negative, neutral). */
function templatedReview(rng: Rng): string {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)] as T;
  return ` ${pick(joins)} ${pick(subjects)} was ${pick(pick([positive, negative, neutral]))}.`;
}

/** Spearman rank correlation: Pearson correlation of the ranks (ties get their mean rank). */
function spearman(a: number[], b: number[]): number {
  const ranks = (xs: number[]) => {
    const order = xs.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]);
    const out = new Array<number>(xs.length).fill(0);
    for (let i = 0; i < order.length;) {
      let j = i;
      while (j + 1 < order.length && order[j + 1]?.[0] === order[i]?.[0]) j++;
      for (let k = i; k <= j; k++) out[order[k]?.[1] ?? 0] = (i + j) / 2;
      i = j + 1;
    }
    return out;
  };
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const ma = mean(ra);
  const mb = mean(rb);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  ra.forEach((x, i) => {
    const y = rb[i] ?? 0;
    sab += (x - ma) * (y - mb);
    saa += (x - ma) ** 2;
    sbb += (y - mb) ** 2;
  });
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
