/**
 * Multi-file checkpoints, atomic as a whole. {@link writeDirAtomic} writes every file into a fresh
 * sibling folder `<dir>.tmp-<pid>-<hex>`, fsyncs each file and folder, then swaps it in:
 *
 *   1. rename `<dir>` away to `<dir>.old-<pid>-<hex>` (when it exists),
 *   2. rename the new folder to `<dir>`, fsync the parent,
 *   3. remove the old folder.
 *
 * Recovery rule: a kill before 1 leaves `<dir>` as it was; after 2 it leaves the complete new
 * checkpoint; between 1 and 2 `<dir>` is missing and `<dir>.old-*` holds the complete previous one.
 * {@link readDirFiles} then reads that `.old` folder, and the next save renames it back before
 * anything else, so a kill at any point leaves the previous checkpoint or the new one, never a mix.
 * Temporary siblings of killed saves are removed by the next save into the same place (`./stale`).
 * @module
 */
import { InputError, FileFormatError } from '../errors';
import { beforeFsOp, errorCode, type FsPromises, loadFs, loadPath, makeDir, removeTree, renamePath, syncDir, writeNewFile } from './fs-ops';
import { parseTempName, tempName } from './paths';
import { activeTemps, isStale, newestOld, removeStaleSiblings, tempSiblings } from './stale';

/** The files of a checkpoint: contents by `/`-separated path relative to its folder. */
export type CheckpointFiles = Record<string, Uint8Array | string>;

/** Options of {@link writeDirAtomic}. */
export interface WriteDirOptions {
  /**
   * Top-level entries of an existing folder that belong to this kind of checkpoint and are dropped
   * when the new one does not write them (e.g. `critic` of a PPO checkpoint). Any other entry the new
   * checkpoint does not write (a user's README, a tokenizer) is carried over (hard-linked, or copied).
   * Default: none.
   */
  replaces?: readonly string[];
}

/** Prefixes every path of `files` with `folder/`. */
export function nestFiles(folder: string, files: CheckpointFiles): CheckpointFiles {
  const out: CheckpointFiles = {};
  for (const [name, data] of Object.entries(files)) out[`${folder}/${name}`] = data;
  return out;
}

function checkNames(files: CheckpointFiles): void {
  const names = Object.keys(files);
  if (names.length === 0) throw new InputError('files', names.length, 'a checkpoint needs at least one file');
  for (const name of names) {
    const parts = name.split('/');
    if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\') || parseTempName(p) !== undefined)) {
      throw new InputError('files', name.slice(0, 80), 'paths must be relative, "/"-separated, without "", ".", ".." or temp-like parts');
    }
  }
}

const locks = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier call for the same `key` in this process has settled. */
async function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => undefined);
  locks.set(key, tail);
  try {
    return await run;
  } finally {
    if (locks.get(key) === tail) locks.delete(key);
  }
}

/** Writes `files` into the new folder `root` and fsyncs every file and folder. */
async function writeTree(fs: FsPromises, root: string, files: CheckpointFiles): Promise<string[]> {
  const { dirname, join } = await loadPath();
  const dirs = new Set<string>([root]);
  await makeDir(fs, root);
  for (const [name, data] of Object.entries(files)) {
    const path = join(root, ...name.split('/'));
    for (let d = dirname(path); d !== root && !dirs.has(d); d = dirname(d)) {
      await makeDir(fs, d);
      dirs.add(d);
    }
    await writeNewFile(fs, path, data);
  }
  return [...dirs];
}

/** Copies `src` to `dst` (a new path): files hard-linked (or copied), folders recursively (added to `dirs`), links as links. */
async function copyTree(fs: FsPromises, src: string, dst: string, dirs: string[]): Promise<void> {
  const { join } = await loadPath();
  const s = await fs.lstat(src);
  if (s.isDirectory()) {
    await makeDir(fs, dst);
    dirs.push(dst);
    for (const name of await fs.readdir(src)) await copyTree(fs, join(src, name), join(dst, name), dirs);
  } else if (s.isSymbolicLink()) {
    beforeFsOp('symlink', dst);
    await fs.symlink(await fs.readlink(src), dst);
  } else if (s.isFile()) {
    try {
      beforeFsOp('link', dst);
      await fs.link(src, dst);
    } catch (e) {
      if (errorCode(e) === undefined) throw e;
      beforeFsOp('copy', dst);
      await fs.copyFile(src, dst);
    }
  }
}

/** Carries the existing folder's entries that the new checkpoint does not write or replace into `tmp`; adds the folders made to `dirs`. */
async function carryOver(fs: FsPromises, target: string, tmp: string, keep: Set<string>, dirs: string[]): Promise<void> {
  const { join } = await loadPath();
  let names: string[];
  try {
    names = await fs.readdir(target);
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return;
    throw e;
  }
  for (const name of names) {
    if (!keep.has(name) && parseTempName(name) === undefined) await copyTree(fs, join(target, name), join(tmp, name), dirs);
  }
}

/** Steps 1-3 of the module comment. Retries when another process swaps its folder in meanwhile. */
async function swapIn(fs: FsPromises, target: string, tmp: string, parent: string, base: string): Promise<void> {
  const { join } = await loadPath();
  const olds: string[] = [];
  try {
    for (let attempt = 0; ; attempt++) {
      const old = join(parent, tempName(base, 'old'));
      activeTemps.add(old);
      try {
        await renamePath(fs, target, old);
        olds.push(old);
      } catch (e) {
        activeTemps.delete(old);
        if (errorCode(e) !== 'ENOENT') throw e;
      }
      try {
        await renamePath(fs, tmp, target);
        break;
      } catch (e) {
        const code = errorCode(e);
        if (attempt < 3 && (code === 'ENOTEMPTY' || code === 'EEXIST')) continue;
        const last = olds.pop();
        if (last !== undefined) await renamePath(fs, last, target).catch(() => olds.push(last)); // put the previous one back
        throw e;
      }
    }
    await syncDir(fs, parent);
    for (const old of olds) await removeTree(fs, old);
  } finally {
    for (const old of olds) activeTemps.delete(old);
  }
}

/** Before a save: a kill between steps 1 and 2 left no `<dir>`; put the previous checkpoint back. */
async function recoverInterrupted(fs: FsPromises, target: string, parent: string, base: string): Promise<void> {
  try {
    const s = await fs.lstat(target);
    if (!s.isDirectory()) throw new InputError('dir', target, 'exists and is not a folder; a checkpoint folder would replace it');
    return;
  } catch (e) {
    if (errorCode(e) !== 'ENOENT') throw e;
  }
  const old = newestOld(await tempSiblings(fs, parent, base), (t) => isStale(t));
  if (old !== undefined) await renamePath(fs, old.path, target);
}

/**
 * Writes a checkpoint folder atomically as a whole (see the module comment): after a crash at any
 * point, {@link readDirFiles} gives the previous contents of `dir` or exactly `files`, never a mix.
 * Saves into the same folder from one process run one after another. Node.js only.
 * @param dir - The checkpoint folder (created with its parents if missing; must not be a file).
 * @param files - Contents by relative path, e.g. `{ 'config.json': text, 'policy/model.safetensors': bytes }`.
 * @param options - Which existing entries belong to this checkpoint kind.
 * @throws {@link InputError} for a bad path or when `dir` is a file; the Node.js system error of a
 *   failed write (the previous checkpoint is then left in place).
 */
export async function writeDirAtomic(dir: string, files: CheckpointFiles, options: WriteDirOptions = {}): Promise<void> {
  checkNames(files);
  const fs = await loadFs();
  const { basename, dirname, join, resolve } = await loadPath();
  const target = resolve(dir);
  const parent = dirname(target);
  const base = basename(target);
  await serialized(target, async () => {
    await makeDir(fs, parent);
    await recoverInterrupted(fs, target, parent, base);
    await removeStaleSiblings(fs, parent, base);
    const tmp = join(parent, tempName(base, 'tmp'));
    activeTemps.add(tmp);
    let done = false;
    try {
      const dirs = await writeTree(fs, tmp, files);
      const keep = new Set([...Object.keys(files).map((n) => n.split('/')[0] as string), ...(options.replaces ?? [])]);
      await carryOver(fs, target, tmp, keep, dirs);
      for (const d of dirs.sort((a, b) => b.length - a.length)) await syncDir(fs, d); // deepest first
      await swapIn(fs, target, tmp, parent, base);
      done = true;
    } finally {
      if (!done) await removeTree(fs, tmp).catch(() => undefined);
      activeTemps.delete(tmp);
    }
  });
}

async function identity(fs: FsPromises, path: string): Promise<string> {
  try {
    const s = await fs.stat(path);
    return `${s.dev}:${s.ino}`;
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return 'missing';
    throw e;
  }
}

/** One consistent read: the folder (or its `.old` copy) must not be swapped while its files are read. */
async function readOnce(fs: FsPromises, dir: string, required: readonly string[], optional: readonly string[]): Promise<Map<string, Uint8Array> | undefined> {
  const { basename, dirname, join, resolve } = await loadPath();
  const target = resolve(dir);
  const idTarget = await identity(fs, target);
  const old = idTarget === 'missing' ? newestOld(await tempSiblings(fs, dirname(target), basename(target))) : undefined;
  const src = old?.path ?? target;
  const idSrc = old === undefined ? idTarget : await identity(fs, src);
  const out = new Map<string, Uint8Array>();
  let failure: unknown;
  for (const name of [...required, ...optional]) {
    const path = join(src, ...name.split('/'));
    try {
      const buf = await fs.readFile(path);
      out.set(name, new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
    } catch (e) {
      if (errorCode(e) === 'ENOENT' && optional.includes(name)) continue;
      failure = new FileFormatError(join(dir, name), `cannot read the checkpoint file (${errorCode(e) === 'ENOENT' ? 'missing: not a checkpoint, or an incomplete one' : (e as Error).message})`);
      break;
    }
  }
  const stable = (await identity(fs, target)) === idTarget && (await identity(fs, src)) === idSrc;
  if (!stable) return undefined; // swapped while reading: read again
  if (failure !== undefined) throw failure;
  return out;
}

/**
 * Reads the files of a checkpoint folder written by {@link writeDirAtomic}, consistently: all from the
 * same version even if a save swaps the folder meanwhile, and from `<dir>.old-*` when a killed save left
 * no `<dir>` (the recovery rule in the module comment). Node.js only.
 * @param dir - The checkpoint folder.
 * @param required - Paths that must exist.
 * @param optional - Paths read when present.
 * @returns Bytes by path.
 * @throws {@link FileFormatError} naming the file that is missing or unreadable.
 */
export async function readDirFiles(dir: string, required: readonly string[], optional: readonly string[] = []): Promise<Map<string, Uint8Array>> {
  const fs = await loadFs();
  for (let attempt = 0; attempt < 5; attempt++) {
    const files = await readOnce(fs, dir, required, optional);
    if (files !== undefined) return files;
  }
  throw new FileFormatError(dir, 'the checkpoint kept changing while it was read (another process is saving into it)');
}
