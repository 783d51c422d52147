/**
 * Cleanup of temporary siblings (`<name>.tmp-<pid>-<hex>`, `<name>.old-<pid>-<hex>`) left by saves that
 * were killed. A sibling is stale, and removed by the next save into the same place, when it is not in
 * use by this process and either its writer's pid is not alive, or it is older than
 * {@link STALE_TEMP_AGE_MS} (a bound for pids reused by another process, e.g. in containers). A live
 * writer's temp, in this process or another one on this machine, is never touched before that age.
 * @module
 */
import { beforeFsOp, errorCode, type FsPromises, loadPath } from './fs-ops';
import { currentPid, parseTempName, type TempKind } from './paths';

/** Age after which a temporary sibling is removed even if its writer's pid is alive: 1 hour. @internal */
export const STALE_TEMP_AGE_MS = 60 * 60 * 1000;

/** Absolute paths of temporary siblings this process is writing right now. @internal */
export const activeTemps = new Set<string>();

/** Whether a process with this pid exists (a pid we may not signal counts as alive). @internal */
export function pidAlive(pid: number): boolean {
  if (pid === currentPid()) return true;
  if (!(pid > 0) || typeof process !== 'object' || typeof process.kill !== 'function') return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errorCode(e) !== 'ESRCH';
  }
}

/** One temporary sibling of a target. @internal */
export interface TempSibling {
  /** Absolute path. */
  path: string;
  /** `tmp` or `old`. */
  kind: TempKind;
  /** Pid of the process that made it. */
  pid: number;
  /** Last status change (ms since the epoch); a rename sets it. */
  ctimeMs: number;
  /** Last modification (ms since the epoch). */
  mtimeMs: number;
}

/** The temporary siblings of `parent/base` (none when `parent` does not exist). @internal */
export async function tempSiblings(fs: FsPromises, parent: string, base: string): Promise<TempSibling[]> {
  const { join } = await loadPath();
  let names: string[];
  try {
    names = await fs.readdir(parent);
  } catch (e) {
    if (errorCode(e) === 'ENOENT' || errorCode(e) === 'ENOTDIR') return [];
    throw e;
  }
  const out: TempSibling[] = [];
  for (const name of names) {
    const t = parseTempName(name);
    if (t === undefined || t.base !== base) continue;
    const path = join(parent, name);
    try {
      const s = await fs.lstat(path);
      out.push({ path, kind: t.kind, pid: t.pid, ctimeMs: s.ctimeMs, mtimeMs: s.mtimeMs });
    } catch (e) {
      if (errorCode(e) !== 'ENOENT') throw e; // removed meanwhile by its writer
    }
  }
  return out;
}

/** Whether a sibling may be removed (or, for an `old` one, taken back) by this process now. @internal */
export function isStale(t: TempSibling, now = Date.now()): boolean {
  if (activeTemps.has(t.path)) return false;
  if (t.pid === currentPid()) return true; // ours but not in use: left by an earlier failed save (or a dead process with our pid)
  return !pidAlive(t.pid) || now - Math.max(t.mtimeMs, t.ctimeMs) > STALE_TEMP_AGE_MS;
}

/**
 * Removes the stale temporary siblings of `parent/base` (see the module comment). Errors removing
 * one (e.g. it vanished) are ignored: cleanup never fails a save.
 * @internal
 */
export async function removeStaleSiblings(fs: FsPromises, parent: string, base: string): Promise<void> {
  for (const t of await tempSiblings(fs, parent, base)) {
    if (!isStale(t)) continue;
    try {
      beforeFsOp('rm', t.path);
      await fs.rm(t.path, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
}

/** The most recently renamed `old` sibling (the previous version set aside by a swap), if any. @internal */
export function newestOld(siblings: readonly TempSibling[], filter: (t: TempSibling) => boolean = () => true): TempSibling | undefined {
  let best: TempSibling | undefined;
  for (const t of siblings) if (t.kind === 'old' && filter(t) && (best === undefined || t.ctimeMs > best.ctimeMs)) best = t;
  return best;
}
