// Two PreferenceCollector sessions on one file must not both label everything: the second is refused
// with a FileLockedError while the first runs; a lock left by a process that is gone is taken over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TransformerPolicy } from '../../src/models/policy';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import type { Logger } from '../../src/logging/logger';
import { PreferenceCollector } from '../../src/feedback/collect/collector';
import { acquireFileLock, FileLockedError } from '../../src/feedback/collect/file-lock';
import type { Judgement, Labeler, LabelRequest } from '../../src/feedback/types';
import { setupBackend } from '../helpers/backend';

const tokenizer = new ByteTokenizer();
let policy: TransformerPolicy;
let dir: string;
let n = 0;

beforeAll(async () => {
  await setupBackend();
  policy = TransformerPolicy.fromPreset('tiny', tokenizer.vocabSize);
  dir = mkdtempSync(join(tmpdir(), 'file-lock-'));
});
afterAll(() => {
  policy.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const fresh = (): string => join(dir, `prefs-${n++}.jsonl`);
const prompts = ['a', 'b', 'c', 'd', 'e', 'f'];

/** Ranks in reverse; before answering, waits for `gate` (so a session can be held open). */
class GatedLabeler implements Labeler {
  readonly name = 'gated';
  readonly asked: string[] = [];
  constructor(private readonly gate: Promise<void> = Promise.resolve()) {}
  async label(request: LabelRequest): Promise<Judgement> {
    this.asked.push(request.id);
    await this.gate;
    return { kind: 'ranked', ranking: request.responses.map((_, i, a) => a.length - 1 - i) };
  }
}

function collector(labeler: Labeler, file: string, logger?: Logger): PreferenceCollector {
  return new PreferenceCollector({ policy, tokenizer, labeler, file, k: 2, criteria: [], sampling: { maxNewTokens: 3 }, seed: 1, logger });
}

const ids = (file: string): string[] => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { id: string }).id);

/** A pid that surely belongs to no running process: a child that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.on('exit', r));
  return child.pid as number;
}

function warnings(): { logger: Logger; messages: string[] } {
  const messages: string[] = [];
  return { messages, logger: { log: (level, message) => { if (level === 'warn') messages.push(message); } } };
}

describe('PreferenceCollector file lock', () => {
  it('refuses a second session on the same file while the first runs; no item is labelled twice', async () => {
    const file = fresh();
    let open = (): void => undefined;
    const first = new GatedLabeler(new Promise<void>((r) => { open = r; }));
    const running = collector(first, file).collect(prompts);
    while (first.asked.length === 0) await new Promise((r) => setTimeout(r, 10)); // first session holds the lock
    const second = new GatedLabeler();
    const refused = await collector(second, file).collect(prompts).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(FileLockedError);
    expect((refused as FileLockedError).holder).toMatchObject({ pid: process.pid, host: hostname() });
    expect((refused as Error).message).toContain(`${file}.lock`);
    expect(second.asked).toEqual([]);
    open();
    expect((await running).labelled).toBe(prompts.length);
    expect(existsSync(`${file}.lock`)).toBe(false); // released
    const again = await collector(second, file).collect(prompts);
    expect(again).toMatchObject({ labelled: 0, alreadyDone: prompts.length });
    const saved = ids(file);
    expect(new Set(saved).size).toBe(saved.length);
    expect(saved).toHaveLength(prompts.length);
  });

  it('releases the lock when the session fails', async () => {
    const file = fresh();
    const failing: Labeler = { name: 'bad', label: async () => { throw new Error('labeller crashed'); } };
    await expect(collector(failing, file).collect(prompts)).rejects.toThrow('labeller crashed');
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('takes over a stale lock (its process is gone) with a warning, and refuses a live or foreign one', async () => {
    const file = fresh();
    const lock = `${file}.lock`;
    const stale = { pid: await deadPid(), host: hostname(), time: '2020-01-01T00:00:00.000Z' };
    writeFileSync(lock, JSON.stringify(stale));
    const log = warnings();
    expect((await collector(new GatedLabeler(), file, log.logger).collect(prompts.slice(0, 2))).labelled).toBe(2);
    expect(log.messages.join('\n')).toMatch(new RegExp(`stale lock .*pid ${stale.pid} is gone`));
    expect(existsSync(lock)).toBe(false);

    // A live process on this host (a sleeping child) holds it: refused, file untouched.
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      writeFileSync(lock, JSON.stringify({ pid: sleeper.pid, host: hostname(), time: new Date().toISOString() }));
      await expect(collector(new GatedLabeler(), file).collect(prompts)).rejects.toBeInstanceOf(FileLockedError);
      expect(ids(file)).toHaveLength(2);
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((r) => sleeper.on('exit', r));
    }
    // The sleeper is gone now: its lock is stale.
    expect((await collector(new GatedLabeler(), file).collect(prompts)).labelled).toBe(prompts.length - 2);

    // Another machine's lock cannot be checked: refused, even with a pid that is dead here.
    writeFileSync(lock, JSON.stringify({ ...stale, host: `${hostname()}-elsewhere` }));
    await expect(collector(new GatedLabeler(), file).collect(['z'])).rejects.toThrow(/in use by another session \(pid \d+ on .*-elsewhere/);
    rmSync(lock);
  });

  it('treats an empty lock file as being created unless it is old (a crash mid-creation)', async () => {
    const file = fresh();
    const lock = `${file}.lock`;
    writeFileSync(lock, '');
    await expect(acquireFileLock(file)).rejects.toThrow(/unreadable lock/);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const held = await acquireFileLock(file);
    expect(JSON.parse(readFileSync(lock, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    await held.release();
    expect(existsSync(lock)).toBe(false);
  });

  it('stops before appending when its lock was taken over, and never deletes the new holder’s lock', async () => {
    const file = fresh();
    const lock = `${file}.lock`;
    let open = (): void => undefined;
    const labeler = new GatedLabeler(new Promise<void>((r) => { open = r; }));
    const running = collector(labeler, file).collect(prompts);
    while (labeler.asked.length === 0) await new Promise((r) => setTimeout(r, 10));
    const other = JSON.stringify({ pid: process.pid, host: hostname(), time: new Date().toISOString(), token: 'other' });
    writeFileSync(lock, other); // someone else's lock now
    open();
    await expect(running).rejects.toBeInstanceOf(FileLockedError);
    expect(existsSync(file)).toBe(false); // nothing appended
    expect(readFileSync(lock, 'utf8')).toBe(other); // release left the other lock alone
    rmSync(lock);
  });
});
