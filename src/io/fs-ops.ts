/**
 * The one place where the atomic-save code reaches `node:fs/promises`, with a fault-injection seam:
 * every mutating file operation first calls {@link beforeFsOp}, so a test can "kill" a save before
 * any operation (throw there, and on every later one) and check what a crash at that point leaves.
 * @module
 */

/** `node:fs/promises`. @internal */
export type FsPromises = typeof import('node:fs/promises');

/** Mutating operations the seam reports. @internal */
export type FsOp = 'mkdir' | 'open' | 'write' | 'sync' | 'rename' | 'rm' | 'link' | 'copy' | 'symlink';

/** A fault hook: throw to make the operation (and the save) fail before it happens. @internal */
export type FsFaultHook = (op: FsOp, path: string) => void;

let faultHook: FsFaultHook | undefined;

/**
 * Installs (or, with `undefined`, removes) the fault hook. For tests only: it is module-global.
 * @internal
 */
export function setFsFaultHook(hook: FsFaultHook | undefined): void {
  faultHook = hook;
}

/** Called before every mutating operation. @internal */
export function beforeFsOp(op: FsOp, path: string): void {
  faultHook?.(op, path);
}

/** Lazily imports `node:fs/promises` (so importing this module is harmless in a browser). @internal */
export async function loadFs(): Promise<FsPromises> {
  return import('node:fs/promises');
}

/** Lazily imports `node:path`. @internal */
export async function loadPath(): Promise<typeof import('node:path')> {
  return import('node:path');
}

/** The `code` of a Node.js system error (`'ENOENT'`...), if any. @internal */
export function errorCode(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** Error codes meaning "this platform cannot fsync a directory", which is then skipped. */
const DIR_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EACCES', 'EINVAL', 'EBADF', 'ENOTSUP', 'EOPNOTSUPP']);

/** Flushes a directory entry to disk so a rename (or a new file) inside it survives a crash; skipped where unsupported. @internal */
export async function syncDir(fs: FsPromises, dir: string): Promise<void> {
  let handle: Awaited<ReturnType<FsPromises['open']>> | undefined;
  try {
    beforeFsOp('sync', dir);
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (e) {
    const code = errorCode(e);
    if (code === undefined || !DIR_SYNC_UNSUPPORTED.has(code)) throw e;
  } finally {
    await handle?.close();
  }
}

/** Creates `path` (which must not exist), writes `data`, fsyncs and closes it. @internal */
export async function writeNewFile(fs: FsPromises, path: string, data: Uint8Array | string): Promise<void> {
  beforeFsOp('open', path);
  const handle = await fs.open(path, 'wx');
  try {
    beforeFsOp('write', path);
    await handle.writeFile(data);
    beforeFsOp('sync', path);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `fs.rename` through the seam. @internal */
export async function renamePath(fs: FsPromises, from: string, to: string): Promise<void> {
  beforeFsOp('rename', from);
  await fs.rename(from, to);
}

/** `fs.rm(path, { recursive, force })` through the seam. @internal */
export async function removeTree(fs: FsPromises, path: string): Promise<void> {
  beforeFsOp('rm', path);
  await fs.rm(path, { recursive: true, force: true });
}

/** `fs.mkdir(path, { recursive: true })` through the seam. @internal */
export async function makeDir(fs: FsPromises, path: string): Promise<void> {
  beforeFsOp('mkdir', path);
  await fs.mkdir(path, { recursive: true });
}
