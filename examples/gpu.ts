/**
 * Training on the `tensorflow` backend: libtensorflow through `@tensorflow/tfjs-node-gpu` (NVIDIA GPU)
 * or `@tensorflow/tfjs-node` (multi-threaded CPU). Pretrains a small policy on Brown-corpus text for a
 * few steps and samples from it, printing training and generation tokens per second to compare with
 * docs/benchmarks.md (same `micro` preset, batch 8 x 64, as the benchmark's "micro" row).
 *
 *   npm install @tensorflow/tfjs-node-gpu@4.22.0   # once; needs CUDA 11.2 + cuDNN 8.1 (docs/backends.md)
 *   npx tsx examples/gpu.ts                        # 200 steps
 *   QUICK=1 npx tsx examples/gpu.ts                # smoke run, 5 steps
 *
 * Neither package ships with tfjs-rlhf (they are optional peer dependencies: their install script
 * downloads libtensorflow from Google's storage host, so they need internet access at install time).
 * When neither is installed, `useBackend('tensorflow')` throws a `BackendError`; this example catches
 * it, prints how to install them to stderr and EXITS WITH CODE 2 (so scripts can tell "no backend" from a
 * failure, code 1). FALLBACK=1 runs the same training on the best backend present instead (wasm in Node).
 *
 * Knobs (environment variables): QUICK=1, STEPS (default 200), PRESET (`micro`, `small`: a larger model
 * shows a GPU's advantage better), PREFER_GPU=0 (use tfjs-node even when tfjs-node-gpu is installed),
 * FALLBACK=1.
 *
 * Check that the GPU is really used: tfjs-node-gpu on a machine with CUDA 12 loads, but logs "Could not
 * load libcudart.so.11.0" at startup and runs on the CPU; the tokens per second then look like tfjs-node's.
 */
import { BackendError, ByteTokenizer, LMTrainer, TransformerPolicy, useBackend, type PresetName } from 'tfjs-rlhf';
import { brownSentences } from './shared/brown';

const QUICK = process.env.QUICK === '1';
const STEPS = Math.floor(Number(process.env.STEPS ?? (QUICK ? 5 : 200)));
if (!Number.isInteger(STEPS) || STEPS < 2) throw new Error(`STEPS must be an integer >= 2, got ${process.env.STEPS}`);
const PRESET = (process.env.PRESET ?? 'micro') as PresetName;
if (PRESET !== 'micro' && PRESET !== 'small') throw new Error(`PRESET must be micro or small, got ${PRESET}`);

/** The install instructions printed when the tensorflow backend is missing. */
const INSTALL_HINT = `
The "tensorflow" backend needs an optional package that is not installed (or failed to load):

  npm install @tensorflow/tfjs-node-gpu@4.22.0   # NVIDIA GPU on Linux/Windows: needs CUDA 11.2 and cuDNN 8.1
  npm install @tensorflow/tfjs-node@4.22.0       # no GPU: libtensorflow's multi-threaded CPU kernels

Both download libtensorflow 2.9.1 from storage.googleapis.com during install (internet access needed;
TFJS_NODE_CDN_STORAGE points at a mirror). See docs/backends.md. Without them tfjs-rlhf runs on wasm:
rerun with FALLBACK=1 to train on the best backend present.`;

let backend: string;
try {
  backend = await useBackend('tensorflow', { preferGpu: process.env.PREFER_GPU !== '0' });
} catch (e) {
  if (!(e instanceof BackendError)) throw e;
  if (process.env.FALLBACK !== '1') {
    console.error(`${e.message}\n${INSTALL_HINT}`);
    process.exit(2);
  }
  backend = await useBackend('auto');
  console.log(`${e.message}; FALLBACK=1: running on ${backend} instead`);
}
console.log(`backend ${backend}${QUICK ? ' (QUICK=1: a few steps, numbers are not meaningful)' : ''}`);

// ---------------------------------------------------------------------------------------------------
// The same run as the benchmark's micro row: preset micro, 8 windows of 64 bytes per step.
const tokenizer = new ByteTokenizer();
const sentences = await brownSentences(['ca', 'cf', 'cn'], QUICK ? 5 : 60);
const tokens = sentences.flatMap((s) => [...tokenizer.encode(s), tokenizer.eosId]);
const policy = TransformerPolicy.fromPreset(PRESET, tokenizer.vocabSize, { contextLength: 64, seed: 1 });
const trainer = new LMTrainer({ policy, learningRate: 2e-3, batchSize: 8, sequenceLength: 64, warmupSteps: Math.min(30, STEPS), decaySteps: STEPS, seed: 1 });
console.log(`preset ${PRESET}: ${policy.parameterCount.toLocaleString('en')} parameters; ${tokens.length.toLocaleString('en')} training bytes`);

const t0 = Date.now();
const history = await trainer.train(tokens, {
  steps: STEPS,
  onStep: (s) => {
    if (s.step % 50 === 0 || s.step === STEPS) console.log(`step ${s.step}/${STEPS}  loss ${s.loss.toFixed(3)}  ${Math.round(s.tokensPerSecond)} tok/s`);
  },
});
// The first steps include kernel compilation and warm-up (long on a GPU): report the median of the rest.
const rates = history.slice(1).map((s) => s.tokensPerSecond).sort((a, b) => a - b);
const median = rates[Math.floor(rates.length / 2)] ?? NaN;
console.log(`trained ${STEPS} steps in ${((Date.now() - t0) / 1000).toFixed(1)} s; median training throughput ${Math.round(median)} tok/s`);

const prompts = ['The jury said', 'She looked at the', 'In the morning', 'He was'].flatMap((p) => [p, p]).map((p) => tokenizer.encode(p));
const t1 = performance.now();
const { tokens: out } = await policy.generate(prompts, { maxNewTokens: 40, temperature: 0.8, seed: 7 });
const genSeconds = (performance.now() - t1) / 1000;
const generated = out.reduce((a, x) => a + x.length, 0);
console.log(`generated ${generated} tokens (batch ${prompts.length}, KV cache) in ${genSeconds.toFixed(2)} s: ${Math.round(generated / genSeconds)} tok/s`);
console.log(`sample: The jury said|${tokenizer.decode(out[0] ?? []).replace(/[^\x20-\x7e]/g, '?')}`);
console.log('compare with docs/benchmarks.md (micro training and generation tok/s per backend)');
trainer.dispose();
policy.dispose();
