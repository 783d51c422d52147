/**
 * Compression, measured on the two pretrained bases: dense, int8, magnitude 50 %, SparseGPT 50 %, 2:4
 * (both), SparseGPT 50 % + int8. For each: held-out perplexity on Brown text the checkpoint never
 * trained on, the checkpoint's bytes, generation tokens/s, zeros. Calibration: 32 context-long windows
 * from the training part of the same split (as SparseGPT calibrates on training data).
 *
 *   npx tsx examples/compress-brown.ts                     # brown-micro: 0.8 M parameters, bytes as tokens
 *   MODEL=brown-bpe npx tsx examples/compress-brown.ts     # brown-bpe: 4.2 M parameters, BPE (the quickstart's base)
 *
 * brown-micro's split is examples/pretrain-brown.ts's (the first 200 sentences of its files held out);
 * brown-bpe's is examples/pretrain-bpe.ts's (the last file of each category held out). brown-bpe ships
 * in int8: its "dense" row is that checkpoint's float32 values (the float32 original is what
 * pretrain-bpe.ts writes to .tmp/pretrain-bpe/model; set BASE to measure from it).
 * Knobs: MODEL, BASE (a checkpoint folder), OUT (default `.tmp/compress-<MODEL>`), BACKEND (default
 * auto), SAMPLES (calibration windows).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ByteTokenizer, TransformerPolicy, countZeros, loadTokenizer, perplexity, prune, quantize, useBackend, type BackendName,
} from 'tfjs-rlhf';
import { brownSentences } from './shared/brown';

const MODEL = process.env.MODEL ?? 'brown-micro';
if (MODEL !== 'brown-micro' && MODEL !== 'brown-bpe') throw new Error(`MODEL must be brown-micro or brown-bpe, got ${MODEL.slice(0, 40)}`);
const OUT = process.env.OUT ?? `.tmp/compress-${MODEL}`;
const SAMPLES = Number(process.env.SAMPLES ?? 32);
const backend = await useBackend((process.env.BACKEND ?? 'auto') as BackendName);
const dir = process.env.BASE ?? new URL(`./assets/${MODEL}`, import.meta.url).pathname;
const tokenizer = MODEL === 'brown-micro' ? new ByteTokenizer() : await loadTokenizer(dir);
const base = await TransformerPolicy.load(dir);
const ctx = base.config.contextLength;

/** The held-out and training sentences of the script that trained `MODEL`. */
async function split(): Promise<{ held: string[]; sentences: string[] }> {
  if (MODEL === 'brown-micro') { // examples/pretrain-brown.ts: the first 200 sentences held out
    const sentences = await brownSentences(['ca', 'cf', 'cn'], 60);
    return { held: sentences.splice(0, 200), sentences };
  }
  const held = await brownSentences(['ca44', 'cf48', 'cg75', 'cj80', 'cn29']); // examples/pretrain-bpe.ts
  const heldSet = new Set(held);
  return { held, sentences: (await brownSentences(['ca', 'cf', 'cg', 'cj', 'cn'])).filter((s) => !heldSet.has(s)) };
}
const { held, sentences } = await split();
const stream = (xs: string[]) => xs.flatMap((s) => [...tokenizer.encode(s), tokenizer.eosId]);
const test = stream(held);
const train = stream(sentences);
// Calibration windows spread over the training stream (deterministic).
const stride = Math.floor(train.length / SAMPLES);
const calibration = Array.from({ length: SAMPLES }, (_, i) => train.slice(i * stride, i * stride + ctx));
console.log(`backend ${backend}; ${MODEL} (${base.parameterCount.toLocaleString('en')} parameters); held-out ${test.length} tokens (${Math.floor(test.length / ctx)} windows of ${ctx}); calibration ${SAMPLES} x ${ctx} tokens`);

const prompts = ['The jury said', 'She looked at the', 'In the morning', 'He was not'].map((p) => tokenizer.encode(p));
async function tokensPerSecond(p: TransformerPolicy): Promise<number> {
  await p.generate(prompts, { maxNewTokens: 8, seed: 1 }); // warm-up
  const t0 = performance.now();
  const { tokens } = await p.generate(prompts, { maxNewTokens: 64, temperature: 0.8, seed: 7 });
  return tokens.reduce((a, t) => a + t.length, 0) / ((performance.now() - t0) / 1000);
}

interface Row { name: string; dir: string; ppl: number; bytes: number; tps: number; zeros: number; seconds: number }
const rows: Row[] = [];
async function measure(name: string, make: () => TransformerPolicy): Promise<void> {
  const t0 = performance.now();
  const p = make();
  const seconds = (performance.now() - t0) / 1000;
  const dir = join(OUT, name.replace(/[^a-z0-9]+/gi, '-'));
  await p.save(dir);
  const reloaded = await TransformerPolicy.load(dir);
  const [a, b] = [await perplexity(p, test), await perplexity(reloaded, test)];
  if (a.loss !== b.loss) throw new Error(`${name}: the reloaded checkpoint scores differently (${a.loss} vs ${b.loss})`);
  const z = countZeros(p);
  rows.push({ name, dir, ppl: a.perplexity, bytes: (await stat(join(dir, 'model.safetensors'))).size, tps: 0, zeros: z.zeros / z.total, seconds });
  const r = rows[rows.length - 1] as Row;
  console.log(`${name.padEnd(26)} ppl ${r.ppl.toFixed(4)}  bytes ${r.bytes}  zeros ${(100 * r.zeros).toFixed(1)}%  (${seconds.toFixed(1)} s)`);
  if (p !== base) p.dispose();
  reloaded.dispose();
}

await measure('dense (float32)', () => base);
await measure('int8 per-channel', () => quantize(base));
await measure('int8 vector-wise', () => quantize(base, { scheme: 'vector-wise' }));
await measure('int8 + embeddings', () => quantize(base, { embeddings: true }));
await measure('magnitude 50%', () => prune(base, { method: 'magnitude', sparsity: 0.5 }));
await measure('SparseGPT 50%', () => prune(base, { method: 'sparsegpt', sparsity: 0.5, calibration }));
await measure('magnitude 2:4', () => prune(base, { method: 'magnitude', pattern: '2:4' }));
await measure('SparseGPT 2:4', () => prune(base, { method: 'sparsegpt', pattern: '2:4', calibration }));
await measure('SparseGPT 50% + int8', () => {
  const pruned = prune(base, { method: 'sparsegpt', sparsity: 0.5, calibration });
  const q = quantize(pruned);
  pruned.dispose();
  return q;
});

// Generation speed: every checkpoint loaded from disk, timed round-robin 3 times (median), so that a
// busy machine slows every variant alike.
const speeds = rows.map(() => [] as number[]);
for (let round = 0; round < 3; round++) {
  for (const [i, r] of rows.entries()) {
    const p = await TransformerPolicy.load(r.dir);
    speeds[i]?.push(await tokensPerSecond(p));
    p.dispose();
  }
}
rows.forEach((r, i) => { r.tps = (speeds[i] as number[]).sort((a, b) => a - b)[1] as number; });

const dense = rows[0] as Row;
console.log('\n| model | held-out ppl | vs dense | file bytes | vs float32 | generation tok/s | zeros in block matrices | compress time |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const d = 100 * (r.ppl / dense.ppl - 1);
  console.log(`| ${r.name} | ${r.ppl.toFixed(3)} | ${r === dense ? '-' : `${d >= 0 ? '+' : ''}${d.toFixed(2)} %`} | ${r.bytes.toLocaleString('en')} | ${(r.bytes / dense.bytes).toFixed(3)}x | ${r.tps.toFixed(0)} | ${(100 * r.zeros).toFixed(1)} % | ${r.seconds.toFixed(1)} s |`);
}
const mag = rows.find((r) => r.name === 'magnitude 50%') as Row;
const sg = rows.find((r) => r.name === 'SparseGPT 50%') as Row;
console.log(`\nSparseGPT 50% loses ${(sg.ppl - dense.ppl).toFixed(3)} ppl, magnitude 50% loses ${(mag.ppl - dense.ppl).toFixed(3)} (ratio ${((sg.ppl - dense.ppl) / (mag.ppl - dense.ppl)).toFixed(2)})`);
base.dispose();
