/**
 * Node.js file helpers: atomic writes, byte reads, directory creation. Node modules are imported
 * lazily inside each function, so importing this module is harmless in a browser bundle; calling
 * these functions there rejects (there is no file system). Multi-file checkpoints use
 * {@link writeDirAtomic} (`./atomic-dir`), which builds on the same pieces.
 * @module
 */
import { errorCode, loadFs, loadPath, makeDir, removeTree, renamePath, syncDir, writeNewFile } from './fs-ops';
import { tempName } from './paths';
import { activeTemps, removeStaleSiblings } from './stale';

export { errorCode, syncDir };

/**
 * Writes a file atomically: readers see either the old contents or the new, never a partial file,
 * even if the process crashes. The data goes to `${path}.tmp-${pid}-${random}` in the same directory,
 * is fsynced, then renamed over `path`; finally the directory is fsynced (skipped on platforms that
 * cannot fsync a directory). On failure the temporary file is removed and the previous file at `path`,
 * if any, is left untouched. Temporary files of earlier writes to `path` that were killed are removed
 * first (only those whose writer is gone: see `./stale`). A new file gets the default mode (0o666 minus
 * the umask). Node.js only.
 * @param path - Destination file. Its directory must exist (see {@link ensureDir}).
 * @param data - Bytes, or a string written as UTF-8.
 * @returns Resolves once the new contents are durable.
 * @throws The Node.js system error (e.g. `ENOENT` when the directory does not exist, `EISDIR` when
 *   `path` is a directory).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const fs = await loadFs();
  const { basename, dirname, resolve } = await loadPath();
  const parent = dirname(resolve(path));
  await removeStaleSiblings(fs, parent, basename(path));
  const tmp = resolve(parent, tempName(basename(path), 'tmp'));
  activeTemps.add(tmp);
  let created = false;
  let renamed = false;
  try {
    created = true; // the open below may create the file before failing
    await writeNewFile(fs, tmp, data);
    await renamePath(fs, tmp, path);
    renamed = true;
  } finally {
    if (created && !renamed) await removeTree(fs, tmp).catch(() => undefined);
    activeTemps.delete(tmp);
  }
  await syncDir(fs, parent);
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
  await makeDir(await loadFs(), path);
}
