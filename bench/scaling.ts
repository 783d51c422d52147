/**
 * Scaling benchmark: training tokens/s of the "micro" config (vocab 259, context 64, d 128, 4 heads,
 * 4 layers, batch 8) with 1, 2, ... replicas (the main thread plus worker threads) up to the cores
 * present, KV-cached generation tokens/s (batch 8), memory per worker, and a PyTorch peer row measured
 * in the same run on the same config when `python3` can import `torch` (2 threads; skipped with a note
 * otherwise).
 *
 *   npx tsup && npx tsx bench/scaling.ts             # full run, prints a markdown section
 *   npx tsx bench/scaling.ts --quick                  # a short sanity run
 *
 * bench/run.ts can import {@link runScaling} and {@link scalingMarkdown}. It imports the BUILT package.
 */
import * as os from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { useBackend, TransformerPolicy, LMTrainer } from '../dist/index.js';
import { BATCH, SEQ, VOCAB, median, tokens } from './micro-data';
import { ceilingRound } from './ceiling';

/** Options of {@link runScaling}. */
export interface ScalingOptions {
  /** Fewer steps and tokens. */
  quick?: boolean;
  /** Largest replica count measured. Default: the cores available. */
  maxWorkers?: number;
  /** Progress lines. Default: console.log. */
  log?: (line: string) => void;
}

/** One training row. */
export interface ScalingRow {
  workers: number;
  tokensPerSecond: number;
  speedup: number;
  efficiency: number;
  /** Process RSS released when the worker pool ended, divided by the worker threads (MiB); null for 1. */
  rssPerWorkerMiB: number | null;
  /** Backend bytes (wasm heap) + JS heap reported by each worker (MiB, mean); null for 1. */
  workerHeapMiB: number | null;
  /** Live tensors in each worker after the run. */
  workerTensors: number[];
}

/** Result of {@link runScaling}. */
export interface ScalingResult {
  cores: number;
  cpuModel: string;
  steps: number;
  train: ScalingRow[];
  generation: { tokensPerSecond: number; autoTokensPerSecond: number; newTokens: number };
  /** The machine's ceiling for 2, 3, ... replicas: independent processes (bench/ceiling.ts). */
  ceiling: CeilingRow[];
  /** PyTorch peer rows: the issue's configuration first, then PyTorch's best setting on this machine. */
  torch: TorchRow[] | { skipped: string };
}

/** `processes` independent single-threaded trainers of `BATCH / processes` rows each, started together. */
export interface CeilingRow { processes: number; tokensPerSecond: number; speedup: number }

/** One PyTorch peer measurement. */
export interface TorchRow { label: string; train: number; generation: number; version: string; threads: number }

/**
 * The PyTorch configurations measured. Debian's python3-torch links the pthreads OpenBLAS, whose own
 * threads come on top of torch's: with both at 2 (the issue's configuration), 4 threads share 2 cores.
 */
const TORCH_CONFIGS = [
  { label: '2 threads (OMP_NUM_THREADS=2, OPENBLAS_NUM_THREADS=2: the issue\'s peer)', env: { TORCH_THREADS: '2', OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '2' } },
  { label: '1 thread (OMP_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1: its fastest here)', env: { TORCH_THREADS: '1', OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' } },
];

const MiB = 1024 * 1024;

/** A trainer kept alive across the interleaved rounds. */
interface LiveRow { workers: number; policy: TransformerPolicy; trainer: LMTrainer; tps: number[] }

async function startRow(workers: number, data: Int32Array, warmup: number): Promise<LiveRow> {
  const policy = TransformerPolicy.fromPreset('micro', VOCAB);
  const trainer = new LMTrainer({ policy, batchSize: BATCH, sequenceLength: SEQ, warmupSteps: 0, seed: 0, workers });
  await trainer.train(data, { steps: warmup });
  return { workers, policy, trainer, tps: [] };
}

/** Ends a row's trainer; RSS per worker = the process RSS the pool's threads gave back when they ended. */
async function finishRow(r: LiveRow): Promise<Omit<ScalingRow, 'speedup' | 'efficiency'>> {
  const mem = await r.trainer.workerMemory();
  const rss0 = process.memoryUsage().rss;
  r.trainer.dispose();
  r.policy.dispose();
  if (r.workers > 1) await new Promise((res) => setTimeout(res, 500)); // the worker threads exit and unmap their heaps
  const extra = r.workers - 1;
  return {
    workers: r.workers,
    tokensPerSecond: median(r.tps),
    rssPerWorkerMiB: extra > 0 ? (rss0 - process.memoryUsage().rss) / extra / MiB : null,
    workerHeapMiB: mem.length > 0 ? mem.reduce((a, m) => a + m.backendBytes + m.heapUsedBytes, 0) / mem.length / MiB : null,
    workerTensors: mem.map((m) => m.numTensors),
  };
}

/** KV-cached generation tok/s with `workers` (median of 3 calls after a warm-up call). */
async function generationTps(newTokens: number, workers: number | 'auto'): Promise<number> {
  const policy = TransformerPolicy.fromPreset('micro', VOCAB, { contextLength: 160 });
  const prompts = Array.from({ length: BATCH }, (_, b) => Array.from({ length: 8 }, (_, t) => (b * 31 + t * 17 + 5) % VOCAB));
  await policy.generate(prompts, { maxNewTokens: 4, temperature: 1, seed: 7, workers });
  const rates: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const r = await policy.generate(prompts, { maxNewTokens: newTokens, temperature: 1, seed: 1 + i, workers });
    rates.push(r.tokens.reduce((a, row) => a + row.length, 0) / ((performance.now() - t0) / 1000));
  }
  policy.dispose();
  return median(rates);
}

const TORCH_SCRIPT = `
import sys, time, json, math, torch, torch.nn as nn, torch.nn.functional as F
import os; torch.set_num_threads(int(os.environ.get('TORCH_THREADS', '2'))); torch.manual_seed(0)
V, T, D, H, L, B, STEPS, NEW = 259, 64, 128, 4, 4, 8, int(sys.argv[1]), int(sys.argv[2])
class Block(nn.Module):
    def __init__(s):
        super().__init__(); s.ln1 = nn.LayerNorm(D); s.attn = nn.Linear(D, 3 * D); s.proj = nn.Linear(D, D)
        s.ln2 = nn.LayerNorm(D); s.fc = nn.Linear(D, 4 * D); s.out = nn.Linear(4 * D, D)
    def forward(s, x, past=None):
        b, t, _ = x.shape
        q, k, v = s.attn(s.ln1(x)).split(D, 2)
        q, k, v = [z.view(b, t, H, D // H).transpose(1, 2) for z in (q, k, v)]
        if past is not None: k = torch.cat([past[0], k], 2); v = torch.cat([past[1], v], 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=past is None) if hasattr(F, 'scaled_dot_product_attention') else None
        if y is None:
            a = (q @ k.transpose(-1, -2)) / math.sqrt(D // H)
            if past is None: a = a.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float('-inf'))
            y = a.softmax(-1) @ v
        x = x + s.proj(y.transpose(1, 2).reshape(b, t, D))
        return x + s.out(F.gelu(s.fc(s.ln2(x)), approximate='tanh')), (k, v)
class GPT(nn.Module):
    def __init__(s):
        super().__init__(); s.wte = nn.Embedding(V, D); s.wpe = nn.Embedding(160, D); s.h = nn.ModuleList([Block() for _ in range(L)]); s.ln = nn.LayerNorm(D)
    def forward(s, idx, pos0=0, past=None):
        x = s.wte(idx) + s.wpe(torch.arange(pos0, pos0 + idx.shape[1])); new = []
        for i, blk in enumerate(s.h):
            x, kv = blk(x, None if past is None else past[i]); new.append(kv)
        return s.ln(x) @ s.wte.weight.T, new
m = GPT(); opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.1, betas=(0.9, 0.95))
data = torch.randint(0, V, (B, T + 1))
def step():
    logits, _ = m(data[:, :-1]); loss = F.cross_entropy(logits.reshape(-1, V), data[:, 1:].reshape(-1))
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step()
for _ in range(2): step()
ts = []
for _ in range(STEPS):
    t0 = time.perf_counter(); step(); ts.append(time.perf_counter() - t0)
ts.sort(); train = B * T / ts[len(ts) // 2]
with torch.no_grad():
    p = torch.randint(0, V, (B, 8)); logits, past = m(p); tok = logits[:, -1].softmax(-1).multinomial(1)
    t0 = time.perf_counter()
    for i in range(NEW):
        logits, past = m(tok, 8 + i, past); tok = logits[:, -1].softmax(-1).multinomial(1)
    gen = B * NEW / (time.perf_counter() - t0)
print(json.dumps({"train": train, "generation": gen, "version": torch.__version__, "threads": torch.get_num_threads()}))
`;

/** The first of $PYTHON, Debian's /usr/bin/python3 and python3 on PATH that imports torch. */
function torchPython(): string | undefined {
  for (const py of [process.env.PYTHON, '/usr/bin/python3', 'python3']) {
    if (py === undefined || py === '') continue;
    try {
      execFileSync(py, ['-c', 'import torch'], { stdio: 'pipe', timeout: 60_000 });
      return py;
    } catch { /* next */ }
  }
  return undefined;
}

/** Runs every PyTorch configuration once (`steps` steps); null when torch is missing. */
function torchRound(python: string, file: string, steps: number, newTokens: number): TorchRow[] {
  return TORCH_CONFIGS.map(({ label, env }) => {
    const out = execFileSync(python, [file, String(steps), String(newTokens)], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, ...env } });
    return { label, ...(JSON.parse(out.trim().split('\n').at(-1) as string) as Omit<TorchRow, 'label'>) };
  });
}

/** Medians over rounds of each configuration's rows. */
function medianRows(rounds: TorchRow[][]): TorchRow[] {
  return TORCH_CONFIGS.map((_, i) => {
    const rs = rounds.map((r) => r[i] as TorchRow);
    return { ...(rs[0] as TorchRow), train: median(rs.map((r) => r.train)), generation: median(rs.map((r) => r.generation)) };
  });
}

/**
 * Measures the scaling table (see the module notes). The replica counts and the PyTorch peers run in
 * interleaved rounds, so that a slow spell of a shared machine hits every row alike.
 */
export async function runScaling(o: ScalingOptions = {}): Promise<ScalingResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  await useBackend('wasm');
  const cores = os.availableParallelism();
  const maxW = Math.min(o.maxWorkers ?? cores, BATCH);
  const [rounds, perRound] = o.quick ? [1, 3] : [4, 5];
  const data = tokens(200_000);
  const live: LiveRow[] = [];
  for (let w = 1; w <= maxW; w++) live.push(await startRow(w, data, 2));
  const python = torchPython();
  const file = path.join(os.tmpdir(), `tfjs-rlhf-torch-peer-${process.pid}.py`);
  fs.writeFileSync(file, TORCH_SCRIPT);
  const newTokens = o.quick ? 16 : 64;
  const torchRounds: TorchRow[][] = [];
  const ceilingTps: number[][] = Array.from({ length: maxW - 1 }, () => []);
  let torchSkip: string | undefined = python === undefined ? 'no python3 that imports torch (install Debian python3-torch + libopenblas0-pthread to get these rows)' : undefined;
  try {
    for (let round = 0; round < rounds; round++) {
      for (const r of live) {
        log(`scaling: round ${round + 1}/${rounds}, training micro with ${r.workers} replica(s), ${perRound} steps`);
        r.tps.push(...(await r.trainer.train(data, { steps: perRound })).map((h) => h.tokensPerSecond));
      }
      for (let n = 2; n <= maxW; n++) {
        log(`scaling: round ${round + 1}/${rounds}, ceiling: ${n} independent processes, ${perRound} steps`);
        ceilingTps[n - 2]?.push((await ceilingRound(n, perRound)).tokensPerSecond);
      }
      if (python !== undefined && torchSkip === undefined) {
        log(`scaling: round ${round + 1}/${rounds}, PyTorch peers`);
        try {
          torchRounds.push(torchRound(python, file, perRound, newTokens));
        } catch (e) {
          torchSkip = `the PyTorch script failed: ${(e as Error).message.slice(0, 200)}`;
        }
      }
    }
  } finally {
    fs.rmSync(file, { force: true });
  }
  const rows: Omit<ScalingRow, 'speedup' | 'efficiency'>[] = [];
  for (const r of live) rows.push(await finishRow(r));
  const base = rows[0]?.tokensPerSecond ?? NaN;
  const train = rows.map((r) => ({ ...r, speedup: r.tokensPerSecond / base, efficiency: r.tokensPerSecond / base / r.workers }));
  log('scaling: KV-cached generation, batch 8');
  const generation = { tokensPerSecond: await generationTps(newTokens, 1), autoTokensPerSecond: await generationTps(newTokens, 'auto'), newTokens };
  const torch = torchSkip !== undefined ? { skipped: torchSkip } : medianRows(torchRounds);
  const ceiling = ceilingTps.map((tps, i) => ({ processes: i + 2, tokensPerSecond: median(tps), speedup: median(tps) / base }));
  return { cores, cpuModel: os.cpus()[0]?.model ?? 'unknown', steps: rounds * perRound, train, generation, ceiling, torch };
}

const f0 = (x: number | null): string => (x === null || !Number.isFinite(x) ? '-' : Math.round(x).toLocaleString('en-US'));
const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

/** The result as a markdown section for docs/benchmarks.md. */
export function scalingMarkdown(r: ScalingResult): string {
  const torch = 'skipped' in r.torch ? [] : r.torch;
  const lines = [
    '### Scaling across cores (data-parallel workers)', '',
    `${r.cores} cores (${r.cpuModel}); micro config (vocab ${VOCAB}, context ${SEQ}, d 128, 4 heads, 4 layers), batch ${BATCH}, median of ${r.steps} steps in interleaved rounds (PyTorch: median over the rounds of each run's median step); wasm backend, one single-threaded instance per replica (the main thread is replica 1).`, '',
    '| replicas | train tok/s | speedup | efficiency | RSS per worker (MiB) | worker wasm + JS heap (MiB) | tensors per worker |',
    '|---|---|---|---|---|---|---|',
    ...r.train.map((t) => `| ${t.workers} | **${f0(t.tokensPerSecond)}** | ${f2(t.speedup)}x | ${(100 * t.efficiency).toFixed(0)}% | ${f0(t.rssPerWorkerMiB)} | ${f0(t.workerHeapMiB)} | ${t.workerTensors.join(', ') || '-'} |`),
    ...r.ceiling.map((c) => `| ceiling: ${c.processes} independent processes, ${BATCH / c.processes} rows each, no exchange | ${f0(c.tokensPerSecond)} | ${f2(c.speedup)}x | ${(100 * c.speedup / c.processes).toFixed(0)}% | | | |`),
    ...torch.map((t) => `| PyTorch ${t.version} CPU, ${t.label} | ${f0(t.train)} | | | | | |`),
  ];
  for (const c of r.ceiling) {
    const dp = r.train.find((t) => t.workers === c.processes);
    if (dp !== undefined) lines.push('', `${c.processes} replicas reach **${(100 * dp.tokensPerSecond / c.tokensPerSecond).toFixed(0)}%** of the ceiling: ${c.processes} independent single-threaded processes (no shared memory, no gradient exchange; tok/s = ${BATCH} x ${SEQ} / the slowest one's median step; bench/ceiling.ts) reach ${f2(c.speedup)}x the 1-replica figure on this machine, which bounds what any data-parallel step of ${c.processes} replicas can reach here.`);
  }
  const auto = r.train[r.train.length - 1]?.tokensPerSecond ?? NaN;
  if (torch.length > 0) {
    lines.push('', `Default options (${r.train.length} replicas) against each PyTorch row: ${torch.map((t) => `**${f2(auto / t.train)}x** (${t.threads} thread${t.threads === 1 ? '' : 's'})`).join(', ')}.`);
  }
  lines.push('', `KV-cached generation, batch ${BATCH}, ${r.generation.newTokens} new tokens (median of 3 calls): **${f0(r.generation.tokensPerSecond)} tok/s** with \`workers: 1\` (the default: in-process, one core), ` +
    `**${f0(r.generation.autoTokensPerSecond)} tok/s** with \`workers: 'auto'\` (${Math.min(r.cores, BATCH)} threads, rows split)` +
    (torch.length > 0 ? `; PyTorch ${torch.map((t) => `${f0(t.generation)} tok/s (${t.threads} thread${t.threads === 1 ? '' : 's'})`).join(', ')}.` : '.'));
  if ('skipped' in r.torch) lines.push('', `PyTorch peer rows skipped: ${r.torch.skipped}.`);
  return lines.join('\n');
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const mw = process.argv.indexOf('--max-workers');
  const maxWorkers = mw >= 0 ? Number(process.argv[mw + 1]) : undefined;
  runScaling({ quick, maxWorkers }).then((r) => console.log(`\n${scalingMarkdown(r)}\n`), (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
