/**
 * Throughput benchmark of tfjs-rlhf: training tokens/s (forward + backward + clip + AdamW) and
 * generation tokens/s (with and without the KV cache), per TensorFlow.js backend, plus a per-kernel
 * profile of one training step. Rewrites docs/benchmarks.md in full on every run.
 *
 *   npm run bench                                  # all backends present: tensorflow, webgpu, wasm, cpu
 *   npx tsx bench/run.ts --backends wasm --quick   # fewer steps, one backend
 *   npx tsx bench/run.ts --out /tmp/bench.md       # write somewhere else
 *
 * It imports the BUILT package (run `npx tsup` first): Node cannot load tfjs-core's deep ESM imports
 * from src/.
 */
import * as os from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import {
  useBackend, BackendError, TransformerPolicy, LMTrainer, AdamW, optimizerStep, Rng, webgpuAdapter,
  type BackendName, type PaddedBatch, type TransformerConfig, type PresetName,
} from '../dist/index.js';
import { runScaling, scalingMarkdown } from './scaling';
import { browserMarkdown, runBrowserScaling } from './browser';
import { runPPOStep, ppoStepMarkdown } from './ppo-step';
import { runGpt2Small, gpt2SmallMarkdown } from './gpt2-small';

// ---------------------------------------------------------------------------------------------------
// Arguments

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Args { backends: Exclude<BackendName, 'auto'>[]; quick: boolean; out: string; profile: boolean; scaling: boolean; browser: boolean; gpt2: boolean }

function parseArgs(argv: string[]): Args {
  const a: Args = { backends: ['tensorflow', 'webgpu', 'wasm', 'cpu'], quick: false, out: path.join(ROOT, 'docs', 'benchmarks.md'), profile: true, scaling: true, browser: true, gpt2: true };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${k} needs a value`);
      return v;
    };
    if (k === '--backends') {
      const list = next().split(',').map((s) => s.trim()).filter(Boolean);
      const known = ['tensorflow', 'wasm', 'cpu', 'webgpu', 'webgl'];
      for (const b of list) if (!known.includes(b)) throw new Error(`unknown backend '${b}' (one of ${known.join(', ')})`);
      a.backends = list as Args['backends'];
    } else if (k === '--quick') a.quick = true;
    else if (k === '--out') a.out = path.resolve(next());
    else if (k === '--no-profile') a.profile = false;
    else if (k === '--no-scaling') a.scaling = false;
    else if (k === '--no-gpt2') a.gpt2 = false;
    else if (k === '--no-browser') a.browser = false;
    else if (k === '--help' || k === '-h') {
      console.log('usage: tsx bench/run.ts [--backends tensorflow,webgpu,wasm,cpu] [--quick] [--out docs/benchmarks.md] [--no-profile] [--no-scaling] [--no-browser] [--no-gpt2]');
      process.exit(0);
    } else throw new Error(`unknown argument '${k}'`);
  }
  return a;
}

// ---------------------------------------------------------------------------------------------------
// Plan: what runs where. Pure-JS cpu is ~20x slower than wasm, so it gets fewer steps and tokens.

const VOCAB = 512;
const BATCH = 8;
const PROMPT_LEN = 8;

interface TrainCase { id: string; preset: PresetName; overrides: Partial<TransformerConfig>; seqLen: number; warmup: number; steps: number }
interface GenCase { preset: PresetName; overrides: Partial<TransformerConfig>; cachedTokens: number; uncachedTokens: number }
interface BackendPlan { train: TrainCase[]; skipped: string[]; gen: GenCase; profile: boolean; note: string }

const MICRO = { preset: 'micro' as const, overrides: {}, seqLen: 64 };
const LARGER = { preset: 'small' as const, overrides: { contextLength: 128 }, seqLen: 128 };
const GEN_OVERRIDES = { contextLength: 160 };

function planFor(backend: string, quick: boolean, profile: boolean): BackendPlan {
  const adapter = backend === 'webgpu' ? webgpuAdapter() : undefined;
  if (adapter?.software === true) {
    return {
      train: [{ id: 'micro', ...MICRO, warmup: 2, steps: quick ? 2 : 4 }],
      skipped: ['larger config (small, T=128): skipped on a software WebGPU adapter'],
      gen: { preset: 'micro', overrides: GEN_OVERRIDES, cachedTokens: quick ? 8 : 16, uncachedTokens: quick ? 8 : 16 },
      profile: false,
      note: `a SOFTWARE WebGPU adapter (${adapter.device}, ${adapter.description}; Dawn flags [${adapter.dawnFlags.join(', ')}]): `
        + 'this checks that the WebGPU path runs, not how fast a GPU is. Every new shape compiles shaders on the CPU.',
    };
  }
  if (backend === 'cpu') {
    return {
      train: [{ id: 'micro', ...MICRO, warmup: 1, steps: quick ? 2 : 3 }],
      skipped: ['larger config (small, T=128): skipped on cpu (~80 s per step)'],
      gen: { preset: 'micro', overrides: GEN_OVERRIDES, cachedTokens: quick ? 16 : 32, uncachedTokens: quick ? 8 : 16 },
      profile: false,
      note: 'pure-JS kernels are far slower than wasm (compare the wasm tables): 1 warm-up step instead of 2, fewer measured steps, '
        + 'fewer generated tokens, no larger config and no kernel profile.',
    };
  }
  return {
    train: [
      { id: 'micro', ...MICRO, warmup: 2, steps: quick ? 5 : 20 },
      { id: 'small-T128', ...LARGER, warmup: 2, steps: quick ? 3 : 8 },
    ],
    skipped: [],
    gen: { preset: 'micro', overrides: GEN_OVERRIDES, cachedTokens: quick ? 32 : 128, uncachedTokens: quick ? 32 : 128 },
    profile,
    note: quick ? '--quick: fewer measured steps and 32 generated tokens instead of 128.' : '',
  };
}

// ---------------------------------------------------------------------------------------------------
// Helpers

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
}

const int = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const fix = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(0)}%` : 'n/a');

function log(msg: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

/** A deterministic synthetic token stream with some structure (so the loss can fall). */
function syntheticTokens(n: number, vocab: number, seed = 1234): Int32Array {
  const rng = new Rng(seed);
  const out = new Int32Array(n);
  out[0] = 1;
  out[1] = 2;
  for (let i = 2; i < n; i++) {
    out[i] = rng.next() < 0.1
      ? rng.int(vocab)
      : ((out[i - 1] as number) * 7 + (out[i - 2] as number) * 3 + 11) % vocab;
  }
  return out;
}

function prompts(batch: number, len: number, vocab: number): number[][] {
  return Array.from({ length: batch }, (_, b) => Array.from({ length: len }, (_, t) => (b * 31 + t * 17 + 5) % vocab));
}

function cpuSeconds(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}

function readVersion(pkg: string): string {
  try {
    const p = path.join(ROOT, 'node_modules', ...pkg.split('/'), 'package.json');
    return (JSON.parse(fs.readFileSync(p, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function describeConfig(c: TransformerConfig): string {
  return `vocab ${c.vocabSize}, context ${c.contextLength}, d ${c.dModel}, ${c.nHead} heads, ${c.nLayer} layers`;
}

// ---------------------------------------------------------------------------------------------------
// Measurements

interface TrainResult {
  id: string; config: string; params: number; batch: number; seqLen: number; warmup: number; steps: number;
  medianTps: number; minTps: number; maxTps: number; medianStepMs: number; firstLoss: number; lastLoss: number; leaked: number; variables: number;
  /** Process CPU time / wall time over the measured steps (1 = a whole core to itself, single-threaded). */
  cpuShare: number;
  /** Tokens per second of process CPU time: a contention-adjusted estimate. */
  cpuTps: number;
}

async function benchTrain(c: TrainCase, tokens: Int32Array): Promise<TrainResult> {
  const before = tf.memory().numTensors;
  const policy = TransformerPolicy.fromPreset(c.preset, VOCAB, c.overrides);
  const trainer = new LMTrainer({ policy, batchSize: BATCH, sequenceLength: c.seqLen, warmupSteps: 0, seed: 0 });
  const warm = await trainer.train(tokens, { steps: c.warmup });
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const hist = await trainer.train(tokens, {
    steps: c.steps,
    onStep: (s) => { if (s.step % 5 === 0 || s.step === c.warmup + c.steps) log(`  ${c.id} step ${s.step}: ${int(s.tokensPerSecond)} tok/s, loss ${fix(s.loss, 3)}`); },
  });
  const cpuSec = cpuSeconds(process.cpuUsage(cpu0));
  const cpuShare = cpuSec / ((performance.now() - wall0) / 1000);
  const tps = hist.map((s) => s.tokensPerSecond);
  const r: TrainResult = {
    id: c.id,
    config: describeConfig(policy.config),
    params: policy.parameterCount,
    batch: BATCH,
    seqLen: c.seqLen,
    warmup: c.warmup,
    steps: c.steps,
    medianTps: median(tps),
    minTps: Math.min(...tps),
    maxTps: Math.max(...tps),
    medianStepMs: (BATCH * c.seqLen) / median(tps) * 1000,
    firstLoss: (warm[0] ?? hist[0])?.loss ?? NaN,
    lastLoss: hist[hist.length - 1]?.loss ?? NaN,
    leaked: 0,
    variables: policy.trainableVariables.length,
    cpuShare,
    cpuTps: (BATCH * c.seqLen * c.steps) / cpuSec,
  };
  trainer.dispose();
  policy.dispose();
  r.leaked = tf.memory().numTensors - before;
  return r;
}

interface GenResult { useCache: boolean; newTokens: number; generated: number; seconds: number; tps: number; msPerPosition: number; cpuShare: number; cpuTps: number }

async function benchGen(policy: TransformerPolicy, useCache: boolean, newTokens: number): Promise<GenResult> {
  const p = prompts(BATCH, PROMPT_LEN, VOCAB);
  await policy.generate(p, { maxNewTokens: 2, temperature: 1, seed: 7, useCache, workers: 1 }); // warm-up
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await policy.generate(p, { maxNewTokens: newTokens, temperature: 1, seed: 1, useCache, workers: 1 }); // one core: the per-backend tables; bench/scaling.ts measures workers
  const seconds = (performance.now() - t0) / 1000;
  const cpuSec = cpuSeconds(process.cpuUsage(cpu0));
  const cpuShare = cpuSec / seconds;
  const generated = r.tokens.reduce((s, row) => s + row.length, 0);
  return { useCache, newTokens, generated, seconds, tps: generated / seconds, msPerPosition: (seconds * 1000) / newTokens, cpuShare, cpuTps: generated / cpuSec };
}

// ---------------------------------------------------------------------------------------------------
// Kernel profile of one micro training step, split into forward / backward+clip / AdamW.

interface KernelRow { name: string; calls: number; ms: number }
interface ShapeRow { key: string; name: string; shapes: string; calls: number; ms: number; flops: number }
/** wallMs: median of unprofiled runs; profiledWallMs: wall time of the profiled run itself. */
interface PhaseProfile { kernels: number; kernelMs: number; wallMs: number; profiledWallMs: number }
interface ProfileResult {
  forward: PhaseProfile; step: PhaseProfile; adamw: PhaseProfile;
  top: KernelRow[]; topShapes: ShapeRow[]; matmulFlops: number; matmulMs: number; matmulCalls: number; variables: number; genKernelsPerPosition: number; genKernelMsPerPosition: number; genWallMsPerPosition: number; cpuShare: number;
}

interface Profiled { kernels: number; kernelMs: number; wallMs: number; rows: Map<string, KernelRow>; shapes: Map<string, ShapeRow> }

/** FLOPs of a matmul kernel call from its input and output shapes (`[.., M, K] @ [.., K, N] -> [.., M, N]`). */
function matmulFlops(inputs: (number[] | null)[], output: number[] | undefined): number {
  const a = inputs[0];
  if (!a || !output || output.length < 2) return NaN;
  const M = output[output.length - 2] as number;
  const N = output[output.length - 1] as number;
  const G = output.slice(0, -2).reduce((x, y) => x * y, 1);
  const aSize = a.reduce((x, y) => x * y, 1);
  const K = aSize / (G * M);
  return 2 * G * M * N * K;
}

async function profiled(fn: () => Promise<unknown> | unknown): Promise<Profiled> {
  const backend = tf.getBackend();
  let wallMs = 0;
  const info = await tf.profile(async () => {
    const t0 = performance.now();
    await fn();
    wallMs = performance.now() - t0;
    return [] as tf.Tensor[];
  });
  const rows = new Map<string, KernelRow>();
  const shapes = new Map<string, ShapeRow>();
  let kernels = 0;
  let kernelMs = 0;
  for (const k of info.kernels) {
    // customGrad scopes are recorded too and contain their inner kernels: count registered kernels only.
    if (tf.getKernel(k.name, backend) === undefined) continue;
    const ms = k.kernelTimeMs as number;
    kernels++;
    kernelMs += ms;
    const row = rows.get(k.name) ?? { name: k.name, calls: 0, ms: 0 };
    row.calls++;
    row.ms += ms;
    rows.set(k.name, row);
    const inShapes = k.inputShapes.filter((x): x is number[] => x !== null);
    const key = `${k.name} ${inShapes.map((x) => `[${x.join(',')}]`).join(' ')}`;
    const isMatmul = /MatMul/.test(k.name);
    const sr = shapes.get(key) ?? { key, name: k.name, shapes: inShapes.map((x) => `[${x.join(',')}]`).join(' '), calls: 0, ms: 0, flops: 0 };
    sr.calls++;
    sr.ms += ms;
    sr.flops += isMatmul ? matmulFlops(k.inputShapes, k.outputShapes[0]) : NaN;
    shapes.set(key, sr);
  }
  return { kernels, kernelMs, wallMs, rows, shapes };
}

const PROFILE_ROUNDS = 5;
const PROFILED_ROUNDS = 3;

/** Averages the times of profiles of the same computation (kernel counts are identical run to run). */
function mergeProfiles(ps: Profiled[]): Profiled {
  const n = ps.length;
  const first = ps[0] as Profiled;
  const rows = new Map<string, KernelRow>();
  const shapes = new Map<string, ShapeRow>();
  for (const p of ps) {
    for (const r of p.rows.values()) {
      const m = rows.get(r.name) ?? { ...r, ms: 0 };
      m.ms += r.ms / n;
      rows.set(r.name, m);
    }
    for (const r of p.shapes.values()) {
      const m = shapes.get(r.key) ?? { ...r, ms: 0 };
      m.ms += r.ms / n;
      shapes.set(r.key, m);
    }
  }
  return { kernels: first.kernels, kernelMs: median(ps.map((p) => p.kernelMs)), wallMs: median(ps.map((p) => p.wallMs)), rows, shapes };
}

function matmulTotals(p: Profiled): { matmulFlops: number; matmulMs: number; matmulCalls: number } {
  let matmulFlops = 0;
  let matmulMs = 0;
  let matmulCalls = 0;
  for (const r of p.shapes.values()) {
    if (!Number.isFinite(r.flops)) continue;
    matmulFlops += r.flops;
    matmulMs += r.ms;
    matmulCalls += r.calls;
  }
  return { matmulFlops, matmulMs, matmulCalls };
}

async function wall(fn: () => Promise<unknown> | unknown, reps: number): Promise<number> {
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

async function profileMicro(tokens: Int32Array): Promise<ProfileResult> {
  const policy = TransformerPolicy.fromPreset('micro', VOCAB);
  const T = 64;
  const L = T + 1;
  const ids = new Int32Array(BATCH * L);
  for (let b = 0; b < BATCH; b++) ids.set(tokens.subarray(b * 97, b * 97 + L), b * L);
  const batch: PaddedBatch = { ids, mask: new Int32Array(BATCH * L).fill(1), batch: BATCH, length: L };
  const lossFn = (): tf.Scalar => tf.neg(tf.mean(policy.tokenLogProbs(batch, { from: 1, training: true }))) as tf.Scalar;
  const opt = new AdamW(policy.trainableVariables, { learningRate: 1e-4, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, epsilon: 1e-8 });
  const stepOnce = (): Promise<unknown> => optimizerStep(opt, () => ({ loss: lossFn() }), { maxGradNorm: 1, learningRate: 1e-4, where: 'bench profile' });
  const fwdOnce = async (): Promise<void> => {
    const l = tf.tidy(lossFn);
    await l.data();
    l.dispose();
  };
  const vars = policy.trainableVariables;
  const grads = tf.tidy(() => {
    const { grads: g } = tf.variableGrads(lossFn, vars);
    return vars.map((v) => g[v.name] ?? tf.zerosLike(v));
  });
  const adamOnce = async (): Promise<void> => {
    opt.applyGradients(grads, 1e-4);
    await (vars[0] as tf.Variable).data();
  };

  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  await stepOnce(); await stepOnce(); await fwdOnce(); await adamOnce(); // warm-up
  // Interleaved rounds, so that a burst of load from other processes hits every phase alike.
  const wF: number[] = [], wS: number[] = [], wA: number[] = [];
  const pF: Profiled[] = [], pS: Profiled[] = [], pA: Profiled[] = [];
  for (let round = 0; round < PROFILE_ROUNDS; round++) {
    wF.push(await wall(fwdOnce, 1));
    wS.push(await wall(stepOnce, 1));
    wA.push(await wall(adamOnce, 1));
    if (round < PROFILED_ROUNDS) {
      pF.push(await profiled(fwdOnce));
      pS.push(await profiled(stepOnce));
      pA.push(await profiled(adamOnce));
    }
  }
  const [pFwd, pStep, pAdam] = [mergeProfiles(pF), mergeProfiles(pS), mergeProfiles(pA)];
  const [wallFwd, wallStep, wallAdam] = [median(wF), median(wS), median(wA)];
  tf.dispose(grads);
  opt.dispose();
  policy.dispose();

  // Generation: kernels per generated position with the KV cache, batch 8.
  const gp = TransformerPolicy.fromPreset('micro', VOCAB, GEN_OVERRIDES);
  const P = prompts(BATCH, PROMPT_LEN, VOCAB);
  const genN = 16;
  const gen = (): Promise<unknown> => gp.generate(P, { maxNewTokens: genN, temperature: 1, seed: 3, useCache: true, workers: 1 });
  const genShort = (): Promise<unknown> => gp.generate(P, { maxNewTokens: 1, temperature: 1, seed: 3, useCache: true, workers: 1 });
  await gen();
  const wL: number[] = [], wSh: number[] = [], pL: Profiled[] = [], pSh: Profiled[] = [];
  for (let round = 0; round < 3; round++) {
    wL.push(await wall(gen, 1));
    wSh.push(await wall(genShort, 1));
  }
  for (let round = 0; round < 2; round++) {
    pL.push(await profiled(gen));
    pSh.push(await profiled(genShort));
  }
  const [wLong, wShort, pLong, pShort] = [median(wL), median(wSh), mergeProfiles(pL), mergeProfiles(pSh)];
  gp.dispose();
  const cpuShare = cpuSeconds(process.cpuUsage(cpu0)) / ((performance.now() - wall0) / 1000);

  return {
    forward: { kernels: pFwd.kernels, kernelMs: pFwd.kernelMs, wallMs: wallFwd, profiledWallMs: pFwd.wallMs },
    step: { kernels: pStep.kernels, kernelMs: pStep.kernelMs, wallMs: wallStep, profiledWallMs: pStep.wallMs },
    adamw: { kernels: pAdam.kernels, kernelMs: pAdam.kernelMs, wallMs: wallAdam, profiledWallMs: pAdam.wallMs },
    top: [...pStep.rows.values()].sort((a, b) => b.ms - a.ms).slice(0, 12),
    topShapes: [...pStep.shapes.values()].sort((a, b) => b.ms - a.ms).slice(0, 12),
    ...matmulTotals(pStep),
    variables: vars.length,
    genKernelsPerPosition: (pLong.kernels - pShort.kernels) / (genN - 1),
    genKernelMsPerPosition: (pLong.kernelMs - pShort.kernelMs) / (genN - 1),
    genWallMsPerPosition: (wLong - wShort) / (genN - 1),
    cpuShare,
  };
}

// ---------------------------------------------------------------------------------------------------
// Per backend

interface BackendResult {
  requested: string; status: 'ok' | 'not installed' | 'failed'; active?: string; detail?: string;
  note?: string; skipped?: string[]; flags?: string;
  train?: TrainResult[]; gen?: { config: string; cached: GenResult; uncached: GenResult }; profile?: ProfileResult; seconds?: number;
}

async function runBackend(name: Exclude<BackendName, 'auto'>, args: Args, tokens: Int32Array): Promise<BackendResult> {
  let active: string;
  try {
    active = await useBackend(name);
  } catch (e) {
    const installed = e instanceof BackendError && (name === 'tensorflow' || name === 'webgpu' || name === 'webgl');
    const detail = e instanceof Error ? e.message : String(e);
    log(`${name}: ${installed ? 'not installed' : 'failed'} (${detail})`);
    return { requested: name, status: installed ? 'not installed' : 'failed', detail };
  }
  const t0 = performance.now();
  const plan = planFor(active, args.quick, args.profile);
  const res: BackendResult = { requested: name, status: 'ok', active, note: plan.note, skipped: plan.skipped, train: [] };
  const adapter = active === 'webgpu' ? webgpuAdapter() : undefined;
  if (adapter !== undefined) res.flags = `adapter ${adapter.device || adapter.vendor} (${adapter.description})${adapter.software ? ', software' : ''}`;
  if (active === 'wasm') {
    const flags: string[] = [];
    for (const f of ['WASM_HAS_SIMD_SUPPORT', 'WASM_HAS_MULTITHREAD_SUPPORT']) {
      try { flags.push(`${f}=${String(await tf.env().getAsync(f))}`); } catch { /* flag unknown */ }
    }
    res.flags = flags.join(', ');
  }
  log(`${name}: backend '${active}' ready${res.flags ? ` (${res.flags})` : ''}`);

  for (const c of plan.train) {
    log(`${active}: training ${c.id}, batch ${BATCH} x ${c.seqLen}, ${c.warmup} warm-up + ${c.steps} measured steps`);
    const r = await benchTrain(c, tokens);
    log(`${active}: training ${c.id}: median ${int(r.medianTps)} tok/s (${int(r.minTps)}-${int(r.maxTps)})`);
    res.train?.push(r);
  }

  const gp = TransformerPolicy.fromPreset(plan.gen.preset, VOCAB, plan.gen.overrides);
  log(`${active}: generation, batch ${BATCH}, prompt ${PROMPT_LEN}, ${plan.gen.cachedTokens} new tokens with cache / ${plan.gen.uncachedTokens} without`);
  const cached = await benchGen(gp, true, plan.gen.cachedTokens);
  log(`${active}: generation with KV cache: ${int(cached.tps)} tok/s`);
  const uncached = await benchGen(gp, false, plan.gen.uncachedTokens);
  log(`${active}: generation without cache: ${int(uncached.tps)} tok/s`);
  res.gen = { config: describeConfig(gp.config), cached, uncached };
  gp.dispose();

  if (plan.profile) {
    log(`${active}: kernel profile of one micro training step`);
    res.profile = await profileMicro(tokens);
  }
  res.seconds = (performance.now() - t0) / 1000;
  return res;
}

// ---------------------------------------------------------------------------------------------------
// Report

interface Machine {
  date: string; node: string; cpu: string; cores: number; memGiB: number; os: string; load: string;
  tfjsCore: string; tfjsWasm: string; tfjsCpu: string; tfjsNode: string; pkg: string; command: string; quick: boolean;
}

const PEERS = `| implementation (same "micro" model, same machine kind) | training tok/s | generation tok/s (batch 8, KV cache) |
|---|---:|---:|
| PyTorch 1.13 CPU, OpenBLAS, 2 threads | ~5,000 | ~2,300 |
| hand-optimised plain tfjs-core block, wasm (2D matmuls, customGrad backward) | ~1,400 | - |
| gpt-tfjs (tfjs-layers GPT), wasm + segment-sum fix | ~160 | - |
| any of the above on tfjs-backend-cpu (pure JS) | ~90 | - |

Measured by the reference (\`shared/reference/tfjs-on-node.md\`, Node 20.20, 2 cores, no GPU) on this machine
kind, **not re-run here**. Matmul ceilings from the same source (512x512x512, GFLOP/s): tfjs-backend-cpu ~1,
tfjs-backend-wasm SIMD 1 thread 12-28 for plain 2D matmul (~2 for batched/transposed), OpenBLAS sgemm 2
threads 180-200.`;

const STATIC_PLAN = `### Where the time goes (static analysis; check it against the profile above)

- **Matmuls** are now most of a micro step on wasm. tfjs-backend-wasm runs batched (\`[G, M, K] @
  [G, K, N]\`) and transposed matmuls on a slow generic loop (~2 GFLOP/s); tfjs-rlhf avoids that path:
  projections are plain 2D matmuls with explicit transposes in a \`customGrad\` backward, and attention's
  batched products go through the split-XNNPACK kernel (one XNNPACK call per head/batch group on views
  into wasm memory). XNNPACK on wasm SIMD128 (no FMA) reaches ~20-35 GFLOP/s on one core here.
  Single-threaded: wasm threads are off under Node (tfjs issue #3830), so the trainers use the other
  cores through worker threads (the scaling table above).
- **Element-wise work, reductions and the optimizer** are fused kernels on wasm
  (\`src/backends/wasm-fused.ts\`): transpose, column sums (bias and LayerNorm parameter gradients, which
  tfjs-backend-wasm computes as a full transpose plus a row reduction), GELU with a rational tanh
  (tfjs-wasm's tanh is a scalar loop at ~13 ns per element), LayerNorm, the selected log-probabilities,
  the embedding gather, AdamW with the clip factor folded in, the global-norm sum of squares, the
  attention head layouts and the KV cache's concatenation, one pass each. The arithmetic-heavy ones
  (GELU, LayerNorm, AdamW, the log-softmax, column sums, the sum of squares) and the attention of a decoded
  token over the KV cache (kept in one buffer per layer, written in place) run in a small WebAssembly SIMD128 module (\`src/backends/simd/kernels.ll\`,
  four float32 lanes); the data-movement ones are TypeScript loops.
- **Per-op overhead.** Every tfjs op has a fixed cost before any arithmetic (engine bookkeeping,
  gradient tape, tidy scopes, JS-to-wasm calls, output allocation); the fused kernels cut a micro step
  from ~1,700 kernels to ~500, so it is a small share now.
- **Generation** is latency bound: each new position runs the whole layer stack at batch 8 x 1 token.

### Next steps

Ordered from the cheapest to build; weigh them against the measured shares above.

1. **Fused attention kernel for training** (per head: scores, mask, softmax, weighted sum, and the
   matching backward; decoding already has its forward): removes the \`[B, H, T, T]\` temporaries and the
   softmax/mask ops.
2. **The rest in SIMD**: the transpose and the head layouts as SIMD shuffles, and the bias-add folded
   into the matmul epilogue.
3. **tfjs-node (libtensorflow, multi-threaded BLAS)** where it can be installed (a user's machine with
   internet; it is an optional peer, picked first by \`useBackend('auto')\`): C++ op dispatch and every
   core for matmuls, the closest tfjs gets to PyTorch on CPU.
4. **WebGPU** (in Node through Dawn, and in browsers; \`useBackend('auto')\` prefers it): large batches
   and the \`small\`/\`gpt2\` presets become practical; per-op overhead matters less on a GPU.
`;

function trainTable(r: BackendResult): string {
  const rows = (r.train ?? []).map((t) =>
    `| ${t.id} | ${t.config} | ${(t.params / 1e6).toFixed(2)} M | ${t.batch} x ${t.seqLen} | ${t.warmup} + ${t.steps} | **${int(t.medianTps)}** | ${int(t.minTps)}-${int(t.maxTps)} | ${int(t.medianStepMs)} | ${pct(t.cpuShare)} | ${int(t.cpuTps)} | ${fix(t.firstLoss, 2)} -> ${fix(t.lastLoss, 2)} |`);
  return ['| config | model | params | batch x seq | warm-up + measured steps | median train tok/s | range | ms/step | CPU share | tok per CPU-second | loss (first -> last) |',
    '|---|---|---:|---|---|---:|---|---:|---:|---:|---|', ...rows,
    '', 'The loss column is a sanity check (finite, near ln 512 = 6.24 this early), not a quality measure.'].join('\n');
}

function genTable(r: BackendResult): string {
  if (!r.gen) return '';
  const row = (g: GenResult): string =>
    `| ${g.useCache ? 'yes' : 'no'} | ${BATCH} | ${PROMPT_LEN} | ${g.newTokens} | ${g.generated} | ${fix(g.seconds, 2)} | **${int(g.tps)}** | ${fix(g.msPerPosition, 1)} | ${pct(g.cpuShare)} | ${int(g.cpuTps)} |`;
  return [`Model: micro with ${r.gen.config}; temperature 1, seeded; one warm-up call of 2 tokens first.`, '',
    '| KV cache | batch | prompt | new tokens | tokens generated | seconds | generated tok/s | ms per position | CPU share | tok per CPU-second |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|', row(r.gen.cached), row(r.gen.uncached),
    '', `KV-cache speed-up at these lengths: **${fix(r.gen.cached.tps / r.gen.uncached.tps, 1)}x**${r.gen.cached.newTokens !== r.gen.uncached.newTokens ? ' (different token counts: the uncached run is shorter, so this understates the gain)' : ''}.`].join('\n');
}

function profileSection(r: BackendResult): string {
  const p = r.profile;
  if (!p) return '';
  const bwd: PhaseProfile = {
    kernels: p.step.kernels - p.forward.kernels - p.adamw.kernels,
    kernelMs: p.step.kernelMs - p.forward.kernelMs - p.adamw.kernelMs,
    wallMs: p.step.wallMs - p.forward.wallMs - p.adamw.wallMs,
    profiledWallMs: p.step.profiledWallMs - p.forward.profiledWallMs - p.adamw.profiledWallMs,
  };
  const phase = (name: string, q: PhaseProfile): string => {
    const outside = q.wallMs - q.kernelMs;
    return `| ${name} | ${int(q.kernels)} | ${fix(q.wallMs, 1)} | ${pct(q.wallMs / p.step.wallMs)} | ${fix(q.kernelMs, 1)} | ${fix(q.profiledWallMs, 1)} | `
      + `${fix(outside, 1)} | ${q.kernels > 0 ? fix((outside / q.kernels) * 1000, 0) : 'n/a'} |`;
  };
  const top = p.top.map((k) => `| ${k.name} | ${k.calls} | ${fix(k.ms, 1)} | ${pct(k.ms / p.step.kernelMs)} | ${fix((k.ms / k.calls) * 1000, 0)} |`);
  const shapes = p.topShapes.map((k) => `| ${k.name} | ${k.shapes} | ${k.calls} | ${fix(k.ms, 1)} | ${fix((k.ms / k.calls) * 1000, 0)} | `
    + `${Number.isFinite(k.flops) && k.ms > 0 ? fix(k.flops / (k.ms / 1000) / 1e9, 1) : ''} |`);
  return [`#### Kernel profile, backend ${r.active} (micro, batch 8 x 64, one step)`, '',
    `"wall ms" is the median of ${PROFILE_ROUNDS} unprofiled runs of each phase (phases interleaved). Kernel counts and`,
    `times come from \`tf.profile\` of ${PROFILED_ROUNDS} further runs (median / mean; registered kernels only, so`,
    '`customGrad` scopes, which contain kernels, are not double-counted). Profiling slows a run down (every',
    'kernel is timed and its record kept, so GC pauses land in kernel times): "profiled wall ms" shows by how',
    'much, and "outside kernels" (unprofiled wall minus kernel time: engine bookkeeping, gradient tape, tidy,',
    'JS glue) is therefore a lower bound; it can go negative where profiling inflated kernel times (e.g. AdamW).',
    'Backward is the whole step minus forward minus AdamW.',
    `Process CPU share during the profile: ${pct(p.cpuShare)}.${p.cpuShare < 0.9 ? ' **Other processes competed for the CPU during the profile: the wall/kernel split below is unreliable in this run (it can even go negative); kernel counts are exact.**' : ''}`, '',
    '| phase | kernels | wall ms | share of step | kernel ms | profiled wall ms | outside kernels ms (lower bound) | outside µs / kernel |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    phase('forward (loss)', p.forward), phase('backward + grad-norm clip', bwd), phase(`AdamW (${p.variables} variables)`, p.adamw),
    phase('whole step', p.step), '',
    'Top kernels of the whole step by kernel time:', '',
    '| kernel | calls | ms | share of kernel time | µs / call |', '|---|---:|---:|---:|---:|', ...top, '',
    'Top (kernel, input shapes) groups of the whole step by kernel time (GFLOP/s for matmuls):', '',
    '| kernel | input shapes | calls | ms | µs / call | GFLOP/s |', '|---|---|---:|---:|---:|---:|', ...shapes, '',
    `Generation with the KV cache, batch 8: **${fix(p.genKernelsPerPosition, 0)} kernels per generated position**, `
    + `${fix(p.genKernelMsPerPosition, 2)} ms of kernel time and ${fix(p.genWallMsPerPosition, 2)} ms of wall time per position `
    + '(difference of a 16-token and a 1-token call; wall: unprofiled medians of 3, kernel: mean of 2 profiled runs).'].join('\n');
}

function planSection(results: BackendResult[]): string {
  const ok = results.filter((r) => r.status === 'ok');
  const microOf = (r: BackendResult): TrainResult | undefined => r.train?.find((t) => t.id === 'micro');
  const best = ok.filter((r) => microOf(r)).sort((a, b) => (microOf(b)?.medianTps ?? 0) - (microOf(a)?.medianTps ?? 0))[0];
  const lines: string[] = ['## Plan toward PyTorch parity', ''];
  if (!best) {
    lines.push('No backend produced numbers in this run.', '', STATIC_PLAN);
    return lines.join('\n');
  }
  const m = microOf(best) as TrainResult;
  const g = best.gen?.cached;
  lines.push(`### Gap, measured in this run (best backend: **${best.active}**)`, '',
    '| metric | tfjs-rlhf (this run, wall) | tfjs-rlhf per CPU-second | PyTorch 1.13 CPU (reference) | PyTorch / tfjs-rlhf (wall; per CPU-s) | hand-optimised tfjs block (reference) |',
    '|---|---:|---:|---:|---:|---:|',
    `| micro training tok/s | ${int(m.medianTps)} | ${int(m.cpuTps)} | ~5,000 | ${fix(5000 / m.medianTps, 1)}x; ${fix(5000 / m.cpuTps, 1)}x | ~1,400 (ours: ${fix(m.medianTps / 1400, 2)}x; ${fix(m.cpuTps / 1400, 2)}x) |`,
    g ? `| generation tok/s, batch 8, KV cache | ${int(g.tps)} | ${int(g.cpuTps)} | ~2,300 | ${fix(2300 / g.tps, 1)}x; ${fix(2300 / g.cpuTps, 1)}x | - |` : '| generation | n/a | n/a | ~2,300 | - | - |',
    '', `A micro training step takes ${int(m.medianStepMs)} ms here; PyTorch would take ~${int((BATCH * 64) / 5000 * 1000)} ms for the same ${BATCH * 64} tokens.`);
  const p = best.profile;
  if (p) {
    const outside = p.step.wallMs - p.step.kernelMs;
    const outsideText = outside > 0 && p.cpuShare >= 0.9
      ? `at least ${fix(outside, 0)} ms (${pct(outside / p.step.wallMs)}) is spent outside kernels, >= ~${fix((outside / p.step.kernels) * 1000, 0)} µs per kernel`
      : `the time outside kernels could not be separated in this run (CPU share ${pct(p.cpuShare)} during the profile)`;
    lines.push('', `From the profile: one step runs **${int(p.step.kernels)} kernels** in ${fix(p.step.wallMs, 0)} ms; ${outsideText}. `
      + `AdamW alone is ${int(p.adamw.kernels)} kernels (${fix(p.adamw.kernels / p.variables, 1)} per variable) and ${fix(p.adamw.wallMs, 1)} ms `
      + `(${pct(p.adamw.wallMs / p.step.wallMs)} of the step, **${fix((p.adamw.wallMs / p.adamw.kernels) * 1000, 0)} µs per kernel**). `
      + `Generation runs ${fix(p.genKernelsPerPosition, 0)} kernels per position, ${fix(p.genWallMsPerPosition, 1)} ms wall `
      + `(${fix(p.genKernelMsPerPosition, 1)} ms in kernels; **${fix((p.genWallMsPerPosition / p.genKernelsPerPosition) * 1000, 0)} µs per kernel**) `
      + 'at short contexts (16 new tokens after an 8-token prompt).'
      + (p.cpuShare < 0.9 ? ` (CPU share during the profile was ${pct(p.cpuShare)}: these per-kernel costs are inflated.)` : ''));
    const targets = p.top.slice(0, 5).map((k) => `\`${k.name}\` ${pct(k.ms / p.step.kernelMs)} (${k.calls} calls)`);
    if (targets.length) lines.push('', `Biggest targets by share of kernel time in this run: ${targets.join(', ')}.`);
    if (p.matmulCalls > 0) {
      const gf = p.matmulFlops / 1e9;
      // Under contention wall-clock kernel times stretch; scaling by the CPU share estimates the time on a free core.
      const adjust = Math.min(1, p.cpuShare);
      const ms = p.matmulMs * adjust;
      const rate = gf / (ms / 1000);
      lines.push('', `Matmuls: ${p.matmulCalls} calls, ${fix(gf, 2)} GFLOP per step in ${fix(ms, 0)} ms${adjust < 0.9 ? ` (${fix(p.matmulMs, 0)} ms wall x ${pct(adjust)} CPU share)` : ''}, `
        + `${fix(rate, 1)} GFLOP/s, ${pct(p.matmulMs / p.step.kernelMs)} of kernel time. Even if everything else were free, single-threaded wasm matmuls `
        + `at this rate cap micro training at ~${int((BATCH * 64) / (ms / 1000))} tok/s; at 2-thread OpenBLAS speed (~190 GFLOP/s, `
        + `reference) the same FLOPs take ~${fix((gf / 190) * 1000, 0)} ms. Parity with PyTorch therefore needs faster matmuls: `
        + 'more cores (the worker threads of the scaling table) or a multi-threaded or GPU backend (tfjs-node, WebGPU).');
    }
  }
  lines.push('', STATIC_PLAN);
  return lines.join('\n');
}

function render(machine: Machine, results: BackendResult[]): string {
  const out: string[] = [];
  out.push('# Benchmarks', '',
    `<!-- Generated by bench/run.ts on ${machine.date}. Do not edit by hand: \`npm run bench\` rewrites this file. -->`, '',
    'Throughput of tfjs-rlhf training (forward + backward + global-norm clip + AdamW, via `LMTrainer`) and',
    'generation (`TransformerPolicy.generate`, with and without the KV cache) on each TensorFlow.js backend',
    'present, on a deterministic synthetic token stream (vocabulary 512).', '',
    '## How to run', '',
    '```sh',
    'npm run build     # the benchmark imports the built package (dist/)',
    'npm run bench     # = tsx bench/run.ts; rewrites docs/benchmarks.md (~3-5 minutes on 2 cores)',
    'npx tsx bench/run.ts --backends wasm --quick           # one backend, fewer steps',
    'npx tsx bench/run.ts --backends wasm,cpu --out /tmp/b.md # write elsewhere; --no-profile skips the kernel profile',
    '```', '',
    'Training tokens/s is `batch x sequenceLength / step time` as reported by `LMTrainer` (each step ends with',
    'a read-back of the loss and gradient norm), median over the measured steps after the warm-up steps.',
    'Generation tokens/s is `batch x new tokens / wall time` of one `generate` call (no stop tokens).',
    '"CPU share" is the process\'s CPU time divided by wall time during a measurement. The wasm and cpu backends',
    'compute on one thread, so ~100% means the benchmark had a core to itself; well below 100% means other',
    'processes competed for the cores and that number is pessimistic. "tok per CPU-second" divides by the',
    'process\'s CPU time instead of wall time: a rough contention-adjusted estimate (it still suffers from shared',
    'caches, and GC threads add a little CPU time). Compare ratios within one run.', '',
    '## Machine', '',
    '| | |', '|---|---|',
    `| date | ${machine.date} |`,
    `| CPU | ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB RAM |`,
    `| OS | ${machine.os} |`,
    `| load average at start (1/5/15 min) | ${machine.load} |`,
    `| Node | ${machine.node} |`,
    `| tfjs-rlhf | ${machine.pkg} |`,
    `| @tensorflow/tfjs-core | ${machine.tfjsCore} |`,
    `| @tensorflow/tfjs-backend-wasm | ${machine.tfjsWasm} |`,
    `| @tensorflow/tfjs-backend-cpu | ${machine.tfjsCpu} |`,
    `| @tensorflow/tfjs-node | ${machine.tfjsNode} |`,
    `| command | \`${machine.command}\`${machine.quick ? ' (quick mode)' : ''} |`, '');

  out.push('## Summary', '',
    '| backend | micro train tok/s | larger train tok/s | generation tok/s, KV cache | generation tok/s, no cache | CPU share (micro train) | bench time |',
    '|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    if (r.status !== 'ok') {
      out.push(`| ${r.requested} | ${r.status} | | | | | |`);
      continue;
    }
    const micro = r.train?.find((t) => t.id === 'micro');
    const larger = r.train?.find((t) => t.id !== 'micro');
    out.push(`| ${r.active} | ${micro ? int(micro.medianTps) : '-'} | ${larger ? `${int(larger.medianTps)} (${larger.id})` : 'skipped'} | `
      + `${r.gen ? `${int(r.gen.cached.tps)} (${r.gen.cached.newTokens} new)` : '-'} | ${r.gen ? `${int(r.gen.uncached.tps)} (${r.gen.uncached.newTokens} new)` : '-'} | ${micro ? pct(micro.cpuShare) : '-'} | ${fix(r.seconds ?? NaN, 0)} s |`);
  }
  out.push('', 'Configs: **micro** = preset `micro` (vocab 512, context 64, d 128, 4 heads, 4 layers, ~0.87 M params), batch 8 x 64. '
    + '**small-T128** = preset `small` with context 128 (vocab 512, d 192, 6 heads, 6 layers, ~2.8 M params), batch 8 x 128. '
    + 'Generation: preset `micro` with context 160, batch 8, prompts of 8 tokens.', '');

  out.push('## Results per backend', '');
  for (const r of results) {
    out.push(`### ${r.requested}`, '');
    if (r.status !== 'ok') {
      out.push(r.status === 'not installed'
        ? `Not installed here (${r.detail ?? ''}). ${r.requested === 'tensorflow' ? '`@tensorflow/tfjs-node` downloads libtensorflow from a Google host at install time, which this machine cannot reach; on a machine with internet `npm i @tensorflow/tfjs-node` enables it and `npm run bench` picks it up.' : ''}`
        : `Failed to initialise: ${r.detail ?? ''}`, '');
      continue;
    }
    if (r.flags) out.push(`Backend flags: ${r.flags}.`, '');
    if (r.note) out.push(`Note: ${r.note}`, '');
    out.push('#### Training', '', trainTable(r), '');
    for (const s of r.skipped ?? []) out.push(`- ${s}`);
    if ((r.skipped ?? []).length) out.push('');
    const leaks = (r.train ?? []).filter((t) => t.leaked !== 0);
    if (leaks.length) {
      const moments = leaks.every((t) => t.leaked === 2 * t.variables);
      out.push(`Tensors left behind after training and \`policy.dispose()\`: ${leaks.map((t) => `${t.id} ${t.leaked}`).join(', ')}`
        + (moments ? ' (= 2 x the trainable variables: the AdamW moments owned by `LMTrainer`; the benchmark predates `LMTrainer.dispose()`, which frees them).' : '.'), '');
    }
    out.push('#### Generation', '', genTable(r), '');
    const prof = profileSection(r);
    if (prof) out.push(prof, '');
  }

  out.push('## Peers', '', PEERS, '');
  out.push(planSection(results));
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const cpus = os.cpus();
  const machine: Machine = {
    date: new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC',
    node: process.version,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    load: os.loadavg().map((x) => x.toFixed(2)).join(' / '),
    tfjsCore: readVersion('@tensorflow/tfjs-core'),
    tfjsWasm: readVersion('@tensorflow/tfjs-backend-wasm'),
    tfjsCpu: readVersion('@tensorflow/tfjs-backend-cpu'),
    tfjsNode: readVersion('@tensorflow/tfjs-node'),
    pkg: pkg.version,
    command: ['npx tsx bench/run.ts', ...process.argv.slice(2)].join(' '),
    quick: args.quick,
  };
  log(`node ${machine.node}, ${machine.cpu} x ${machine.cores}, tfjs-core ${machine.tfjsCore}, load ${machine.load}`);
  const tokens = syntheticTokens(50_000, VOCAB);
  const results: BackendResult[] = [];
  for (const b of args.backends) results.push(await runBackend(b, args, tokens));
  // Sections of their own: every core (worker threads with the PyTorch peer; Web Workers in Chromium), and GPT-2 small.
  const extra: string[] = [];
  if (args.scaling) {
    await useBackend('wasm');
    extra.push(scalingMarkdown(await runScaling({ quick: args.quick, log })));
    if (args.browser) extra.push(browserMarkdown(await runBrowserScaling({ quick: args.quick, log })));
    extra.push(ppoStepMarkdown(await runPPOStep({ quick: args.quick, log })));
  }
  if (args.gpt2) {
    const gpuRow = results.some((r) => r.active === 'webgpu' && webgpuAdapter()?.software === false);
    extra.push(gpt2SmallMarkdown(await runGpt2Small({ backends: gpuRow ? ['webgpu', 'wasm'] : ['wasm'], quick: args.quick, log })));
  }
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  const kept = keptSections(args.out);
  fs.writeFileSync(args.out, `${[render(machine, results), ...extra, ...(kept ? [kept] : [])].map((x) => x.trimEnd()).join('\n\n')}\n`);
  log(`wrote ${path.relative(process.cwd(), args.out) || args.out} in ${fix((performance.now() - started) / 1000, 0)} s`);
}

/** Marks the start of sections that runs keep from earlier runs (measured by hand or by other scripts). */
const KEPT_MARKER = '<!-- Kept from earlier runs';

/**
 * The kept tail of an existing benchmarks file (from {@link KEPT_MARKER} to the end), so that a rerun
 * does not drop the sections it does not produce (the tokenizer benchmark, the GPT-2 explanation).
 */
function keptSections(file: string): string | undefined {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const at = text.indexOf(KEPT_MARKER);
  return at >= 0 ? text.slice(at) : undefined;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
