/**
 * An exclusive lock on a data file, so two sessions never append to it at once: `<file>.lock` is
 * created with `O_CREAT | O_EXCL` and holds `{ pid, host, time, token }`. A lock whose process is gone
 * (same host, `pid` no longer running) is stale and taken over; any other lock is refused with a
 * {@link FileLockedError} naming its holder. Node.js only (`node:fs` and `node:os` are imported lazily).
 * @module
 */
import { RlhfError } from '../../errors';
import { randomHex } from '../../http/local-server';
import { silentLogger, type Logger } from '../../logging/logger';

/** What a lock file records about its holder. */
export interface LockHolder {
  /** Process id of the holder. */
  pid: number;
  /** Host name of the holder's machine. */
  host: string;
  /** When the lock was taken (ISO 8601). */
  time: string;
}

/** The file is locked by another session (or the lock file cannot be read). */
export class FileLockedError extends RlhfError {
  constructor(
    /** The locked data file. */
    readonly file: string,
    /** The lock file, `<file>.lock`. */
    readonly lockFile: string,
    /** Who holds it, when the lock file could be read. */
    readonly holder: LockHolder | undefined,
  ) {
    super(
      `${file} is in use by another session (${holder === undefined ? 'unreadable lock' : `pid ${holder.pid} on ${holder.host} since ${holder.time}`}); `
      + `wait for it to finish, or delete ${lockFile} if no session is running`,
    );
  }
}

/** A held lock; {@link FileLock.release} it when done. */
export interface FileLock {
  /** The lock file. */
  readonly path: string;
  /** Throws a {@link FileLockedError} unless the lock file still holds this lock (it was not taken over). */
  check(): Promise<void>;
  /** Deletes the lock file if it is still this lock. Safe to call twice. */
  release(): Promise<void>;
}

/** How old an empty or unreadable lock file must be before it counts as a crashed creation, ms. */
const TORN_LOCK_MS = 10_000;

interface Found { holder: LockHolder | undefined; text: string; ageMs: number }

async function readLock(path: string): Promise<Found | undefined> {
  const fs = await import('node:fs/promises');
  try {
    const [text, stat] = await Promise.all([fs.readFile(path, 'utf8'), fs.stat(path)]);
    let holder: LockHolder | undefined;
    try {
      const o = JSON.parse(text) as Partial<LockHolder>;
      if (Number.isSafeInteger(o.pid) && typeof o.host === 'string' && typeof o.time === 'string') holder = { pid: o.pid as number, host: o.host, time: o.time };
    } catch {
      holder = undefined;
    }
    return { holder, text, ageMs: Date.now() - stat.mtimeMs };
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Whether process `pid` runs on this machine (`EPERM`: it runs, as another user). A zombie (killed,
 * not yet reaped: state `Z` in `/proc/<pid>/stat` on Linux) counts as gone.
 */
async function processAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
  try {
    const stat = await (await import('node:fs/promises')).readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /s.test(stat);
  } catch {
    return true; // no /proc (macOS, Windows): kill(pid, 0) succeeded
  }
}

async function isStale(found: Found, host: string): Promise<boolean> {
  if (found.holder === undefined) return found.ageMs > TORN_LOCK_MS;
  return found.holder.host === host && found.holder.pid !== process.pid && !(await processAlive(found.holder.pid));
}

/**
 * Takes the lock `<file>.lock`, taking over a stale one (its process is gone).
 * @param file - The data file to protect.
 * @param logger - Told when a stale lock is taken over.
 * @returns The held lock.
 * @throws {@link FileLockedError} when another live session holds it (this process included).
 */
export async function acquireFileLock(file: string, logger: Logger = silentLogger): Promise<FileLock> {
  const fs = await import('node:fs/promises');
  const { hostname } = await import('node:os');
  const path = `${file}.lock`;
  const host = hostname();
  const text = JSON.stringify({ pid: process.pid, host, time: new Date().toISOString(), token: randomHex(8) });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await fs.open(path, 'wx');
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return heldLock(path, file, text);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
    }
    const found = await readLock(path);
    if (found === undefined) continue; // released meanwhile
    if (!(await isStale(found, host))) throw new FileLockedError(file, path, found.holder);
    const again = await readLock(path); // only remove the very lock judged stale
    if (again?.text === found.text) {
      logger.log('warn', `taking over the stale lock ${path} (${found.holder === undefined ? 'unreadable' : `pid ${found.holder.pid} is gone`})`);
      await fs.rm(path, { force: true });
    }
  }
  throw new FileLockedError(file, path, (await readLock(path))?.holder);
}

function heldLock(path: string, file: string, text: string): FileLock {
  let released = false;
  return {
    path,
    async check() {
      const found = released ? undefined : await readLock(path);
      if (found?.text !== text) throw new FileLockedError(file, path, found?.holder);
    },
    async release() {
      if (released) return;
      released = true;
      const found = await readLock(path);
      if (found?.text === text) await (await import('node:fs/promises')).rm(path, { force: true });
    },
  };
}
