/**
 * What GPT-2 small (124 M parameters: vocab 50257, context 1024, d 768, 12 layers, 12 heads) costs on
 * CPU, with random weights (no download): the time to load a Hugging Face folder of it
 * (`TransformerPolicy.fromPretrained`, 500 MB of F32 safetensors written first by `savePretrained`),
 * KV-cached generation tokens/s (batch 1), and the time of one SFT step (forward + backward + clip +
 * AdamW) on a small batch.
 *
 *   npx tsup && npx tsx bench/gpt2-small.ts                  # wasm, prints a markdown section
 *   npx tsx bench/gpt2-small.ts --backends wasm,webgpu --quick
 *
 * bench/run.ts can import {@link runGpt2Small} and {@link gpt2SmallMarkdown}. It imports the BUILT package.
 * Memory: about 0.5 GB for the weights, 1.5 GB more for AdamW's moments and the gradients.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SFTTrainer, TransformerPolicy, useBackend, type BackendName, type Tokenizer } from '../dist/index.js';

/** Options of {@link runGpt2Small}. */
export interface Gpt2SmallOptions {
  /** Backends to measure, in order. Default `['wasm']`. */
  backends?: Exclude<BackendName, 'auto'>[];
  /** Fewer generated tokens and a shorter SFT sequence. Default `false`. */
  quick?: boolean;
  /** Progress lines. Default: console.log. */
  log?: (line: string) => void;
}

/** One backend's numbers. */
export interface Gpt2SmallRow {
  /** The backend measured. */
  backend: string;
  /** Parameters of the model. */
  parameters: number;
  /** Seconds to write the HF folder with savePretrained. */
  saveSeconds: number;
  /** Seconds of fromPretrained on the folder (read, decode, upload to the backend). */
  loadSeconds: number;
  /** Generated tokens per second, batch 1, KV cache on, greedy. */
  generateTokensPerSecond: number;
  /** Tokens generated for that figure. */
  generatedTokens: number;
  /** Seconds of one SFT step. */
  sftStepSeconds: number;
  /** Batch size x sequence length of that step. */
  sftShape: [number, number];
  /** Error text when the backend could not run the measurement. */
  error?: string;
}

const GPT2_SMALL = { vocabSize: 50257, contextLength: 1024, nLayer: 12, nHead: 12, dModel: 768, seed: 1 };

/** A stand-in tokenizer over the 50257 ids (the benchmark feeds ids, never text). */
function idTokenizer(): Tokenizer {
  return {
    vocabSize: 50258, eosId: 50256, padId: 50257, bosId: 50256,
    encode: (text: string) => Array.from(text, (c) => c.charCodeAt(0) % 50000),
    decode: (ids: readonly number[]) => ids.map((i) => String.fromCharCode(32 + (i % 90))).join(''),
  };
}

async function measure(backend: Exclude<BackendName, 'auto'>, o: Required<Gpt2SmallOptions>): Promise<Gpt2SmallRow> {
  await useBackend(backend);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpt2-small-'));
  const row: Gpt2SmallRow = { backend, parameters: 0, saveSeconds: NaN, loadSeconds: NaN, generateTokensPerSecond: NaN, generatedTokens: 0, sftStepSeconds: NaN, sftShape: [0, 0] };
  try {
    let t = performance.now();
    const random = new TransformerPolicy({ ...GPT2_SMALL, vocabSize: 50258 });
    row.parameters = random.parameterCount;
    await random.savePretrained(dir);
    row.saveSeconds = (performance.now() - t) / 1000;
    random.dispose();
    t = performance.now();
    const policy = await TransformerPolicy.fromPretrained(dir);
    row.loadSeconds = (performance.now() - t) / 1000;
    o.log(`${backend}: ${row.parameters.toLocaleString('en')} parameters; save ${row.saveSeconds.toFixed(1)} s, load ${row.loadSeconds.toFixed(1)} s`);

    const prompt = Array.from({ length: 16 }, (_, i) => (i * 997) % 50000);
    row.generatedTokens = o.quick ? 8 : 32;
    await policy.generate([prompt], { maxNewTokens: 2, temperature: 0 }); // warm-up: kernels compiled, caches allocated
    t = performance.now();
    await policy.generate([prompt], { maxNewTokens: row.generatedTokens, temperature: 0 });
    row.generateTokensPerSecond = row.generatedTokens / ((performance.now() - t) / 1000);
    o.log(`${backend}: generation ${row.generateTokensPerSecond.toFixed(2)} tok/s (batch 1, KV cache)`);

    const len = o.quick ? 64 : 128;
    row.sftShape = [4, len];
    const examples = Array.from({ length: 4 }, (_, b) => ({
      promptIds: Array.from({ length: len / 2 }, (_, i) => (b * 131 + i * 7) % 50000),
      completionIds: Array.from({ length: len / 2 - 1 }, (_, i) => (b * 17 + i * 13) % 50000),
    }));
    // In-process: with workers, each replica holds its own 124 M weights plus Adam moments, and a
    // worker's wasm heap aborted (out of memory) on this step when we tried it.
    const sft = new SFTTrainer({ policy, tokenizer: idTokenizer(), batchSize: 4, learningRate: 1e-5, warmupSteps: 0, workers: 1 });
    t = performance.now();
    await sft.train(examples, { epochs: 1 });
    row.sftStepSeconds = (performance.now() - t) / 1000;
    o.log(`${backend}: one SFT step (batch 4 x ${len} tokens) ${row.sftStepSeconds.toFixed(1)} s`);
    sft.dispose();
    policy.dispose();
  } catch (e) {
    row.error = (e as Error).message.slice(0, 200);
    o.log(`${backend}: failed: ${row.error}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return row;
}

/** Measures GPT-2 small on each backend, one after another. */
export async function runGpt2Small(options: Gpt2SmallOptions = {}): Promise<Gpt2SmallRow[]> {
  const o: Required<Gpt2SmallOptions> = { backends: options.backends ?? ['wasm'], quick: options.quick ?? false, log: options.log ?? ((l) => console.log(l)) };
  const rows: Gpt2SmallRow[] = [];
  for (const b of o.backends) rows.push(await measure(b, o));
  return rows;
}

/** A markdown section for docs/benchmarks.md. */
export function gpt2SmallMarkdown(rows: readonly Gpt2SmallRow[]): string {
  const f = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const lines = [
    '## GPT-2 small (124 M parameters) on one machine',
    '',
    'Random weights in the GPT-2 small shape (vocab 50257 + 1 pad id, context 1024, d 768, 12 layers, 12 heads);',
    '`bench/gpt2-small.ts`. Load = `TransformerPolicy.fromPretrained` of a Hugging Face folder (F32 safetensors).',
    '',
    '| backend | load (s) | generate (tok/s, batch 1, KV cache) | one SFT step (s) | SFT batch |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.backend} | ${f(r.loadSeconds, 1)} | ${f(r.generateTokensPerSecond, 2)} | ${f(r.sftStepSeconds, 1)} | ${r.sftShape[0]} x ${r.sftShape[1]}${r.error ? ` (failed: ${r.error})` : ''} |`),
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf('--backends');
  const backends = i >= 0 ? (argv[i + 1] ?? 'wasm').split(',') as Exclude<BackendName, 'auto'>[] : ['wasm' as const];
  const rows = await runGpt2Small({ backends, quick: argv.includes('--quick') });
  console.log(`\n${gpt2SmallMarkdown(rows)}`);
}
