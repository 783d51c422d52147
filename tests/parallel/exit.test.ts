// A program that trains with worker threads and never calls dispose() still exits by itself (the
// workers are unref'd between steps), with its results printed. Runs the built package (dist/) in a
// child Node process, as a user's program would.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = pathToFileURL(resolve(__dirname, '../../dist/index.js')).href;

const program = `
import { useBackend, TransformerPolicy, LMTrainer } from ${JSON.stringify(dist)};
await useBackend('wasm');
const policy = TransformerPolicy.fromPreset('tiny', 64, { seed: 1 });
const tokens = Array.from({ length: 400 }, (_, i) => (i * 7) % 64);
const trainer = new LMTrainer({ policy, batchSize: 4, sequenceLength: 16, workers: 2 });
const h = await trainer.train(tokens, { steps: 3 });
const mem = await trainer.workerMemory();
console.log(JSON.stringify({ steps: h.length, loss: h.at(-1).loss, workers: mem.length }));
// no trainer.dispose(), no policy.dispose(): the process must still exit
`;

const ppoProgram = `
import { useBackend, TransformerPolicy, RewardModel, PPOTrainer, ByteTokenizer } from ${JSON.stringify(dist)};
await useBackend('wasm');
const tokenizer = new ByteTokenizer();
const policy = TransformerPolicy.fromPreset('tiny', tokenizer.vocabSize, { seed: 1 });
const reward = RewardModel.fromPolicy(policy);
const trainer = new PPOTrainer({ policy, reward, tokenizer, batchSize: 4, miniBatchSize: 2, ppoEpochs: 1, maxNewTokens: 4, workers: 2 });
const h = await trainer.train(['a', 'b', 'c', 'd'], { steps: 2 });
const mem = await trainer.workerMemory();
console.log(JSON.stringify({ steps: h.length, loss: h.at(-1)['loss/value_avg'], workers: mem.length }));
// no trainer.dispose(): the critic worker must not keep the process alive
`;

function runNode(code: string, timeoutMs: number): Promise<{ code: number | null; out: string; err: string; ms: number; killed: boolean }> {
  return new Promise((done) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TFJS_RLHF_WORKERS: '' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    let killed = false;
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('exit', (c) => {
      clearTimeout(timer);
      done({ code: c, out, err, ms: Date.now() - t0, killed });
    });
  });
}

describe('worker threads and process exit', () => {
  it('a program that never disposes its trainer exits on its own after training', async () => {
    const r = await runNode(program, 100_000);
    expect(r.killed, `still running after 100 s; stderr: ${r.err.slice(-500)}`).toBe(false);
    expect(r.code, r.err.slice(-1000)).toBe(0);
    const res = JSON.parse(r.out.trim().split('\n').at(-1) as string) as { steps: number; loss: number; workers: number };
    expect(res.steps).toBe(3);
    expect(res.workers).toBe(1);
    expect(Number.isFinite(res.loss)).toBe(true);
  });

  it('a PPO program with the critic worker exits on its own without dispose', async () => {
    const r = await runNode(ppoProgram, 100_000);
    expect(r.killed, `still running after 100 s; stderr: ${r.err.slice(-500)}`).toBe(false);
    expect(r.code, r.err.slice(-1000)).toBe(0);
    const res = JSON.parse(r.out.trim().split('\n').at(-1) as string) as { steps: number; loss: number; workers: number };
    expect(res).toMatchObject({ steps: 2, workers: 1 });
    expect(Number.isFinite(res.loss)).toBe(true);
  });
});
