/**
 * Training on a GPU, through whichever GPU path is present, in this order:
 *  1. WebGPU through Dawn (the `webgpu` npm package + `@tensorflow/tfjs-backend-webgpu`): Vulkan on
 *     Linux, Metal on macOS, D3D12 on Windows. Installs from npm alone (nothing downloaded at install):
 *     the recommended GPU path (docs/backends.md).
 *  2. libtensorflow through `@tensorflow/tfjs-node-gpu` (needs CUDA 11.2 + cuDNN 8.1; on CUDA 12 it
 *     loads and silently runs on the CPU) or `@tensorflow/tfjs-node` (multi-threaded CPU).
 * It prints what it found (the WebGPU adapter, or the tensorflow package), pretrains a small policy on
 * Brown-corpus text and samples from it, printing training and generation tokens per second to compare
 * with docs/benchmarks.md (same `micro` preset, batch 8 x 64, as the benchmark's "micro" row).
 *
 *   npm install webgpu @tensorflow/tfjs-backend-webgpu@4.22.0   # once (or tfjs-node-gpu, see docs/backends.md)
 *   npx tsx examples/gpu.ts                                      # 200 steps
 *   QUICK=1 npx tsx examples/gpu.ts                              # smoke run, 5 steps
 *
 * None of these packages ships with tfjs-rlhf (they are optional peer dependencies). When no GPU path
 * is present (no hardware WebGPU adapter and no tensorflow package), this example prints what it found
 * and how to install one to stderr and EXITS WITH CODE 2 (so scripts can tell "no GPU" from a failure,
 * code 1). SOFTWARE=1 accepts a software WebGPU adapter (Mesa llvmpipe: correct, slower than wasm);
 * FALLBACK=1 runs the same training on the best backend present instead (wasm in Node).
 *
 * Knobs (environment variables): QUICK=1, STEPS (default 200), PRESET (`micro`, `small`: a larger model
 * shows a GPU's advantage better), PREFER_GPU=0 (use tfjs-node even when tfjs-node-gpu is installed),
 * DAWN_FLAGS (comma-separated, e.g. `backend=vulkan` or `adapter=NVIDIA`), SOFTWARE=1, FALLBACK=1.
 */
import { BackendError, ByteTokenizer, LMTrainer, TransformerPolicy, consoleLogger, useBackend, webgpuAdapter, type PresetName } from 'tfjs-rlhf';
import { brownSentences } from './shared/brown';

const QUICK = process.env.QUICK === '1';
const STEPS = Math.floor(Number(process.env.STEPS ?? (QUICK ? 5 : 200)));
if (!Number.isInteger(STEPS) || STEPS < 2) throw new Error(`STEPS must be an integer >= 2, got ${process.env.STEPS}`);
const PRESET = (process.env.PRESET ?? 'micro') as PresetName;
if (PRESET !== 'micro' && PRESET !== 'small') throw new Error(`PRESET must be micro or small, got ${PRESET}`);

/** The install instructions printed when no GPU path is present. */
const INSTALL_HINT = `
No GPU path is present. Install one (docs/backends.md):

  npm install webgpu @tensorflow/tfjs-backend-webgpu@4.22.0   # WebGPU through Dawn: Vulkan (Linux), Metal (macOS), D3D12 (Windows)
  npm install @tensorflow/tfjs-node-gpu@4.22.0                # NVIDIA on Linux/Windows: needs CUDA 11.2 and cuDNN 8.1
  npm install @tensorflow/tfjs-node@4.22.0                    # no GPU: libtensorflow's multi-threaded CPU kernels

WebGPU needs a GPU driver with Vulkan (Linux: the NVIDIA driver, or Mesa's radv/anv), Metal or D3D12.
tfjs-node(-gpu) download libtensorflow 2.9.1 from storage.googleapis.com during install (internet
access needed). Without them tfjs-rlhf runs on wasm: rerun with FALLBACK=1 to train on the best backend
present, or SOFTWARE=1 to use a software WebGPU adapter (Mesa llvmpipe) if there is one.`;

const dawnFlags = process.env.DAWN_FLAGS?.split(',').filter((f) => f !== '');
const logger = consoleLogger('info', (line) => console.log(line));
const found: string[] = [];
let backend: string | undefined;
try {
  backend = await useBackend('webgpu', { webgpu: { dawnFlags, allowSoftware: process.env.SOFTWARE === '1' }, logger });
} catch (e) {
  if (!(e instanceof BackendError)) throw e;
  found.push(`webgpu: ${e.message}`);
}
if (backend === undefined) {
  try {
    backend = await useBackend('tensorflow', { preferGpu: process.env.PREFER_GPU !== '0' });
  } catch (e) {
    if (!(e instanceof BackendError)) throw e;
    found.push(`tensorflow: ${e.message}`);
  }
}
if (backend === undefined) {
  if (process.env.FALLBACK !== '1') {
    console.error(`${found.join('\n')}\n${INSTALL_HINT}`);
    process.exit(2);
  }
  backend = await useBackend('auto');
  console.log(`${found.join('; ')}; FALLBACK=1: running on ${backend} instead`);
}
const adapter = backend === 'webgpu' ? webgpuAdapter() : undefined;
if (adapter !== undefined) console.log(`WebGPU adapter: ${adapter.device || adapter.vendor} (${adapter.description})${adapter.software ? ', software' : ''}`);
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
