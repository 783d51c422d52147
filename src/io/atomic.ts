/**
 * Node.js file helpers: atomic writes, byte reads, directory creation. Node modules are imported
 * lazily inside each function, so importing this module is harmless in a browser bundle; calling
 * these functions there rejects (there is no file system).
 * @module
 */

type FsPromises = typeof import('node:fs/promises');

async function loadFs(): Promise<FsPromises> {
  return import('node:fs/promises');
}

/** Error codes meaning "this platform cannot fsync a directory", which is then skipped. */
const DIR_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EACCES', 'EINVAL', 'EBADF', 'ENOTSUP', 'EOPNOTSUPP']);

/** The `code` of a Node.js system error (`'ENOENT'`...), if any. @internal */
export function errorCode(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

function randomSuffix(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID !== undefined) return c.randomUUID().slice(0, 8);
  return Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0');
}

/** Flushes a directory entry to disk so a rename (or a new file) inside it survives a crash; skipped where unsupported. @internal */
export async function syncDir(fs: FsPromises, dir: string): Promise<void> {
  let handle: Awaited<ReturnType<FsPromises['open']>> | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (e) {
    const code = errorCode(e);
    if (code === undefined || !DIR_SYNC_UNSUPPORTED.has(code)) throw e;
  } finally {
    await handle?.close();
  }
}

/**
 * Writes a file atomically: readers see either the old contents or the new, never a partial file,
 * even if the process crashes. The data goes to `${path}.tmp-${pid}-${random}` in the same directory,
 * is fsynced, then renamed over `path`; finally the directory is fsynced (skipped on platforms that
 * cannot fsync a directory). On failure the temporary file is removed and the previous file at `path`,
 * if any, is left untouched. A new file gets the default mode (0o666 minus the umask).
 * Node.js only.
 * @param path - Destination file. Its directory must exist (see {@link ensureDir}).
 * @param data - Bytes, or a string written as UTF-8.
 * @returns Resolves once the new contents are durable.
 * @throws The Node.js system error (e.g. `ENOENT` when the directory does not exist, `EISDIR` when
 *   `path` is a directory).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const fs = await loadFs();
  const pid = typeof process === 'object' ? process.pid : 0;
  const tmp = `${path}.tmp-${pid}-${randomSuffix()}`;
  let created = false;
  let renamed = false;
  try {
    const handle = await fs.open(tmp, 'wx');
    created = true;
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, path);
    renamed = true;
  } finally {
    if (created && !renamed) await fs.rm(tmp, { force: true }).catch(() => undefined);
  }
  const { dirname } = await import('node:path');
  await syncDir(fs, dirname(path));
}

/**
 * Reads a whole file. Node.js only.
 * @param path - The file to read.
 * @returns Its bytes, as a plain `Uint8Array`.
 * @throws The Node.js system error (e.g. `ENOENT`).
 */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  const fs = await loadFs();
  const buf = await fs.readFile(path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Creates a directory and any missing parents; does nothing if it already exists. Node.js only.
 * @param path - The directory.
 * @throws The Node.js system error (e.g. `EEXIST` when `path` is a file, `ENOTDIR` when a parent is).
 */
export async function ensureDir(path: string): Promise<void> {
  const fs = await loadFs();
  await fs.mkdir(path, { recursive: true });
}
