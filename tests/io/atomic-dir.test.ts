import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { nestFiles, readDirFiles, writeDirAtomic, type CheckpointFiles } from '../../src/io/atomic-dir';
import { writeFileAtomic } from '../../src/io/atomic';
import { joinPath, parseTempName, tempName } from '../../src/io/paths';
import { activeTemps, isStale, STALE_TEMP_AGE_MS } from '../../src/io/stale';
import { FileFormatError, InputError } from '../../src/errors';
import { recordOps, runKilledAt } from './kill-points';

let root: string;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-rlhf-atomic-dir-'));
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

const decode = (m: Map<string, Uint8Array>): Record<string, string> => Object.fromEntries([...m].map(([k, v]) => [k, new TextDecoder().decode(v)]));
const temps = async (d: string): Promise<string[]> => (await fs.readdir(d)).filter((n) => parseTempName(n) !== undefined);

/** A pid that certainly belongs to no live process: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const OLD: CheckpointFiles = { 'config.json': '{"v":1}', 'model.bin': Uint8Array.from([1, 1, 1]), 'sub/x.txt': 'old x' };
const NEW: CheckpointFiles = { 'config.json': '{"v":2}', 'model.bin': Uint8Array.from([2, 2, 2, 2]), 'extra/deep/y.txt': 'new y' };
const asText = (f: CheckpointFiles): Record<string, string> => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, typeof v === 'string' ? v : new TextDecoder().decode(v)]));
const ALL = ['config.json', 'model.bin', 'sub/x.txt', 'extra/deep/y.txt'];

async function readState(dir: string): Promise<Record<string, string>> {
  return decode(await readDirFiles(dir, ['config.json', 'model.bin'], ['sub/x.txt', 'extra/deep/y.txt']));
}

describe('joinPath and temp names', () => {
  it('joins without doubling the separator', () => {
    expect(joinPath('a', 'b')).toBe('a/b');
    expect(joinPath('a/', 'b')).toBe('a/b');
    expect(joinPath('/x/y', 'c/d')).toBe('/x/y/c/d');
  });

  it('parses the names it makes, and nothing else', () => {
    const t = parseTempName(tempName('ckpt.v2', 'old'));
    expect(t).toEqual({ base: 'ckpt.v2', kind: 'old', pid: process.pid });
    for (const n of ['ckpt', 'ckpt.tmp-', 'ckpt.tmp-12-zzzzzzzz', 'ckpt.new-1-0123abcd', 'ckpt.tmp-1-0123abcd9']) expect(parseTempName(n)).toBeUndefined();
  });
});

describe('writeDirAtomic', () => {
  it('writes nested files that read back, replaces a folder wholesale, and leaves no temps', async () => {
    const dir = path.join(root, 'a', 'ck');
    await writeDirAtomic(dir, OLD);
    expect(await readState(dir)).toEqual(asText(OLD));
    await writeDirAtomic(dir, NEW, { replaces: ['sub'] });
    expect(await readState(dir)).toEqual(asText(NEW));
    await expect(fs.access(path.join(dir, 'sub'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await temps(path.join(root, 'a'))).toEqual([]);
  });

  it('carries over entries the checkpoint does not own (a user README), but not stale temp files inside', async () => {
    const dir = path.join(root, 'ck');
    await writeDirAtomic(dir, OLD);
    await fs.writeFile(path.join(dir, 'README.md'), 'mine');
    await fs.mkdir(path.join(dir, 'notes'));
    await fs.writeFile(path.join(dir, 'notes', 'n.txt'), 'deep');
    await fs.writeFile(path.join(dir, `model.bin${tempName('', 'tmp')}`), 'junk of an old killed write');
    await writeDirAtomic(dir, NEW);
    expect(await fs.readFile(path.join(dir, 'README.md'), 'utf8')).toBe('mine');
    expect(await fs.readFile(path.join(dir, 'notes', 'n.txt'), 'utf8')).toBe('deep');
    expect(await fs.readFile(path.join(dir, 'sub', 'x.txt'), 'utf8')).toBe('old x'); // not in `replaces`: carried
    expect(await temps(dir)).toEqual([]);
  });

  it('rejects bad paths and a target that is a file, changing nothing', async () => {
    await expect(writeDirAtomic(path.join(root, 'x'), {})).rejects.toThrow(InputError);
    for (const bad of ['../up', '/abs', 'a//b', './a', `a${tempName('', 'tmp')}`]) {
      await expect(writeDirAtomic(path.join(root, 'x'), { [bad]: 'v' })).rejects.toThrow(InputError);
    }
    const file = path.join(root, 'f');
    await fs.writeFile(file, 'keep');
    await expect(writeDirAtomic(file, OLD)).rejects.toThrow(/not a folder/);
    expect(await fs.readFile(file, 'utf8')).toBe('keep');
    expect((await fs.readdir(root)).sort()).toEqual(['f']);
  });

  it('serializes concurrent saves into one folder: the result is exactly one of them', async () => {
    const dir = path.join(root, 'ck');
    const versions = [1, 2, 3, 4, 5].map((v) => ({ 'a.txt': `a${v}`, 'b/c.txt': `c${v}` }));
    await Promise.all(versions.map((f) => writeDirAtomic(dir, f)));
    const got = decode(await readDirFiles(dir, ['a.txt', 'b/c.txt']));
    expect(got).toEqual(versions[4]); // run in call order
    expect(await temps(root)).toEqual([]);
  });

  it('names the missing file of an incomplete folder in a FileFormatError', async () => {
    const dir = path.join(root, 'ck');
    await writeDirAtomic(dir, { 'a.txt': 'a' });
    const err = await readDirFiles(dir, ['a.txt', 'b.txt']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileFormatError);
    expect((err as FileFormatError).file).toBe(path.join(dir, 'b.txt'));
  });
});

describe('kill during writeDirAtomic', () => {
  it('at every kill point, reading gives exactly the old or the new checkpoint; the next save recovers and cleans up', async () => {
    const ops = await recordOps(() => writeDirAtomic(path.join(root, 'probe'), NEW));
    await writeDirAtomic(path.join(root, 'probe2'), OLD);
    const overOld = await recordOps(() => writeDirAtomic(path.join(root, 'probe2'), NEW, { replaces: ['sub'] }));
    expect(ops.length).toBeGreaterThan(10);
    const seen: string[] = [];
    for (let k = 0; k <= overOld.length; k++) {
      const parent = path.join(root, `k${k}`);
      const dir = path.join(parent, 'ck');
      await writeDirAtomic(dir, OLD);
      const completed = await runKilledAt(k, () => writeDirAtomic(dir, NEW, { replaces: ['sub'] }));
      expect(completed).toBe(k === overOld.length);
      const state = await readState(dir);
      const which = JSON.stringify(state) === JSON.stringify(asText(OLD)) ? 'old' : JSON.stringify(state) === JSON.stringify(asText(NEW)) ? 'new' : 'MIX';
      expect(which, `kill point ${k} (${overOld[k]?.op ?? 'none'} ${overOld[k]?.path ?? ''}): ${JSON.stringify(state)}`).not.toBe('MIX');
      seen.push(which);
      // The next save (same process, so the leftovers carry our pid but are not in use) recovers and cleans.
      const third = { 'config.json': '{"v":3}', 'model.bin': 'three' };
      await writeDirAtomic(dir, third, { replaces: ['sub', 'extra'] });
      expect(decode(await readDirFiles(dir, ['config.json', 'model.bin'], ALL))).toEqual(third);
      expect(await temps(parent), `kill point ${k}`).toEqual([]);
    }
    // Old until the swap's second rename, new from then on: one switch, and both outcomes occur.
    const firstNew = seen.indexOf('new');
    expect(firstNew).toBeGreaterThan(0);
    expect(seen.slice(firstNew).every((w) => w === 'new')).toBe(true);
    expect(seen.slice(0, firstNew).every((w) => w === 'old')).toBe(true);
    expect(overOld[firstNew - 1]).toMatchObject({ op: 'rename' });
  });

  it('a kill between the two renames leaves only <dir>.old-*: reads and the next save use it', async () => {
    const dir = path.join(root, 'ck');
    await writeDirAtomic(dir, OLD);
    await writeDirAtomic(path.join(root, 'probe'), OLD); // same shape of save over an existing folder
    const over = await recordOps(() => writeDirAtomic(path.join(root, 'probe'), NEW));
    const secondRename = over.findIndex((o, i) => o.op === 'rename' && over[i - 1]?.op === 'rename');
    expect(await runKilledAt(secondRename, () => writeDirAtomic(dir, NEW))).toBe(false);
    await expect(fs.access(dir)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await temps(root)).map((n) => parseTempName(n)?.kind).sort()).toEqual(['old', 'tmp']);
    expect(await readState(dir)).toEqual(asText(OLD));
    await writeDirAtomic(dir, NEW);
    expect(await readState(dir)).toMatchObject(asText(NEW));
    expect(await temps(root)).toEqual([]);
  });
});

describe('stale temp cleanup', () => {
  it('removes temps of dead writers (tmp and old), keeps a live writer\'s fresh temp', async () => {
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const dead = deadPid();
      const mk = async (kind: 'tmp' | 'old', pid: number, ageMs = 0): Promise<string> => {
        const p = path.join(root, `ck.${kind}-${pid}-0123abcd`);
        await fs.mkdir(p);
        await fs.writeFile(path.join(p, 'f'), 'x');
        if (ageMs > 0) {
          const t = new Date(Date.now() - ageMs);
          await fs.utimes(p, t, t);
        }
        return p;
      };
      await mk('tmp', dead);
      await mk('old', dead);
      const liveTmp = await mk('tmp', live.pid as number);
      await fs.writeFile(path.join(root, `other.tmp-${dead}-0123abcd`), 'not ours');
      await writeDirAtomic(path.join(root, 'ck'), OLD);
      expect((await fs.readdir(root)).sort()).toEqual(['ck', path.basename(liveTmp), `other.tmp-${dead}-0123abcd`].sort());
    } finally {
      live.kill('SIGKILL');
    }
  });

  it('the age bound applies to live pids; a temp in use by this process is never stale', () => {
    const now = 1e12;
    const t = { path: '/x/ck.tmp-1-0123abcd', kind: 'tmp' as const, pid: process.ppid, ctimeMs: now, mtimeMs: now };
    expect(isStale(t, now)).toBe(false); // live writer (our parent), fresh
    expect(isStale({ ...t, mtimeMs: now - STALE_TEMP_AGE_MS - 1, ctimeMs: now - STALE_TEMP_AGE_MS - 1 }, now)).toBe(true);
    expect(isStale({ ...t, mtimeMs: now - STALE_TEMP_AGE_MS - 1 }, now)).toBe(false); // just renamed (ctime): in use
    expect(isStale({ ...t, pid: process.pid }, now)).toBe(true); // ours, not in use: an earlier failed save
    activeTemps.add(t.path);
    try {
      expect(isStale({ ...t, pid: process.pid }, now)).toBe(false);
    } finally {
      activeTemps.delete(t.path);
    }
  });

  it('writeFileAtomic removes temp files of dead writers of the same file', async () => {
    const dead = deadPid();
    const file = path.join(root, 'summary.json');
    await fs.writeFile(`${file}.tmp-${dead}-0123abcd`, 'partial');
    await fs.writeFile(`${file}.tmp-${process.pid}-0123abcd`, 'left by an earlier failed write of ours');
    await writeFileAtomic(file, '{}');
    expect(await fs.readdir(root)).toEqual(['summary.json']);
  });
});

describe('SIGKILL of a real saving process', () => {
  it('after each kill the folder holds one complete version, at least the last one reported', async () => {
    const dir = path.join(root, 'ck');
    const delays = [0, 3, 7, 13, 29];
    let lastReported = 0;
    for (const [trial, delay] of delays.entries()) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'tests/io/fixtures/save-child.ts', dir, '400000'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, s) => res(s)));
      let saves = 0;
      let killed = false;
      child.stdout.on('data', (d: Buffer) => {
        saves += (d.toString().match(/saved/g) ?? []).length;
        if (saves >= 2 && !killed) {
          killed = true;
          setTimeout(() => child.kill('SIGKILL'), delay);
        }
      });
      expect(await exited, stderr).toBe('SIGKILL');
      const files = decode(await readDirFiles(dir, ['a.txt', 'sub/b.txt', 'version.txt']));
      const v = Number(files['version.txt']);
      const body = `${v}\n`.repeat(Math.ceil(400000 / `${v}\n`.length));
      expect(files['a.txt'] === body && files['sub/b.txt'] === body, `trial ${trial}: version ${v} is not whole`).toBe(true);
      expect(v).toBeGreaterThanOrEqual(2); // the child restarts at 1; it had reported 2 saves
      lastReported = v;
    }
    expect(lastReported).toBeGreaterThan(0);
    await writeDirAtomic(dir, { 'version.txt': 'final' }, { replaces: ['a.txt', 'sub'] });
    expect(await temps(root)).toEqual([]); // the dead children's temps are gone
    expect(await fs.readdir(dir)).toEqual(['version.txt']);
  });
});

describe('nestFiles', () => {
  it('prefixes every path', () => {
    expect(nestFiles('p', { 'a.json': 'x', 'b/c': 'y' })).toEqual({ 'p/a.json': 'x', 'p/b/c': 'y' });
  });
});
