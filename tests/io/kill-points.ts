// Simulated crashes for kill-during-save tests: the fault seam of src/io/fs-ops.ts "kills" a save
// before its k-th mutating file operation. Like a real kill, every later operation fails too, so no
// cleanup code after the kill point touches the disk.
import { setFsFaultHook, type FsOp } from '../../src/io/fs-ops';

/** Thrown by the fault hook: the simulated process death. */
export class SimulatedKill extends Error {}

/** Runs `fn` with a hook that records every mutating operation; returns them. */
export async function recordOps(fn: () => Promise<unknown>): Promise<{ op: FsOp; path: string }[]> {
  const ops: { op: FsOp; path: string }[] = [];
  setFsFaultHook((op, path) => { ops.push({ op, path }); });
  try {
    await fn();
  } finally {
    setFsFaultHook(undefined);
  }
  return ops;
}

/** Runs `fn`, dying before mutating operation `k` (0-based). Returns true if `fn` completed (k past its last op). */
export async function runKilledAt(k: number, fn: () => Promise<unknown>): Promise<boolean> {
  let n = 0;
  setFsFaultHook(() => {
    if (n++ >= k) throw new SimulatedKill(`killed before operation ${k}`);
  });
  try {
    await fn();
    return true;
  } catch (e) {
    if (!(e instanceof SimulatedKill)) throw e;
    return false;
  } finally {
    setFsFaultHook(undefined);
  }
}
