/**
 * The machine's ceiling for data-parallel training: `n` independent Node processes, started together,
 * each training its own copy of the micro model on `BATCH / n` rows with `workers: 1` (one
 * single-threaded wasm engine each, no shared memory, no messages, no gradient sum). A data-parallel
 * step of `n` replicas does the same work plus the exchange, and waits for its slowest shard, so
 * `BATCH x SEQ / (slowest child's median step)` is the most `n` replicas could reach on this machine.
 * Where it is well below `n` times the 1-replica figure, the cores slow each other down (shared caches,
 * memory bandwidth, a hypervisor), whatever the software does.
 *
 *   npx tsup && npx tsx bench/ceiling.ts 2          # one round with 2 processes, prints JSON
 *
 * bench/scaling.ts runs {@link ceilingRound} in its interleaved rounds. The child side of this file
 * runs when it is started with `--child ROWS STEPS`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { useBackend, TransformerPolicy, LMTrainer } from '../dist/index.js';
import { BATCH, SEQ, VOCAB, median, tokens } from './micro-data';

const SELF = fileURLToPath(import.meta.url);

/** What one round of {@link ceilingRound} measured. */
export interface CeilingRound {
  /** Processes run at once. */
  processes: number;
  /** Each child's median step time (ms), child order. */
  stepMs: number[];
  /** `BATCH x SEQ` per slowest child's median step, in tokens/s. */
  tokensPerSecond: number;
}

/** The child: warm up, say `ready`, wait for a line on stdin, train `steps` steps, print the step times. */
async function child(rows: number, steps: number): Promise<void> {
  await useBackend('wasm');
  const data = tokens(200_000);
  const policy = TransformerPolicy.fromPreset('micro', VOCAB);
  const trainer = new LMTrainer({ policy, batchSize: rows, sequenceLength: SEQ, warmupSteps: 0, seed: 0, workers: 1 });
  await trainer.train(data, { steps: 2 });
  process.stdout.write('ready\n');
  await new Promise<void>((res) => createInterface({ input: process.stdin }).once('line', () => res()));
  const stats = await trainer.train(data, { steps });
  const stepMs = stats.map((s) => (rows * SEQ) / s.tokensPerSecond * 1000);
  process.stdout.write(`${JSON.stringify({ stepMs: median(stepMs) })}\n`);
  trainer.dispose();
  policy.dispose();
}

/** Lines a child prints, as a queue the parent awaits one at a time. */
function lines(cp: ChildProcess): () => Promise<string> {
  const queue: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  let failed: Error | undefined;
  const rl = createInterface({ input: cp.stdout as NodeJS.ReadableStream });
  rl.on('line', (l) => (waiting.length > 0 ? (waiting.shift() as (l: string) => void)(l) : queue.push(l)));
  cp.on('exit', (code) => {
    failed = new Error(`ceiling child exited with code ${code}`);
    for (const w of waiting.splice(0)) w('');
  });
  return () => {
    if (queue.length > 0) return Promise.resolve(queue.shift() as string);
    if (failed !== undefined) return Promise.reject(failed);
    return new Promise((res, rej) => waiting.push((l) => (l === '' && failed !== undefined ? rej(failed) : res(l))));
  };
}

/** Runs `n` children of `BATCH / n` rows for `steps` steps each, started at the same moment. */
export async function ceilingRound(n: number, steps: number): Promise<CeilingRound> {
  const rows = Math.ceil(BATCH / n);
  const kids = Array.from({ length: n }, () => spawn(process.execPath, ['--import', 'tsx', SELF, '--child', String(rows), String(steps)], {
    cwd: path.dirname(path.dirname(SELF)), stdio: ['pipe', 'pipe', 'inherit'],
  }));
  try {
    const next = kids.map(lines);
    await Promise.all(next.map(async (read) => { if ((await read()) !== 'ready') throw new Error('ceiling child did not get ready'); }));
    for (const k of kids) k.stdin?.write('go\n');
    const stepMs = await Promise.all(next.map(async (read) => (JSON.parse(await read()) as { stepMs: number }).stepMs));
    return { processes: n, stepMs, tokensPerSecond: (BATCH * SEQ) / Math.max(...stepMs) * 1000 };
  } finally {
    for (const k of kids) if (k.exitCode === null) k.kill();
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === SELF) {
  const i = process.argv.indexOf('--child');
  const run = i >= 0
    ? child(Number(process.argv[i + 1]), Number(process.argv[i + 2]))
    : ceilingRound(Number(process.argv[2] ?? 2), 10).then((r) => console.log(JSON.stringify(r)));
  run.catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
