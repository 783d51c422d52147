/**
 * Path helpers shared by every folder that writes checkpoints (models, ppo, pipeline): joining with `/`
 * (which Node accepts on every platform) and the names of the temporary siblings an atomic save
 * creates. Pure: no Node.js imports.
 * @module
 */

/**
 * Joins a folder and a name with `/` (no doubled separator when `dir` already ends with one).
 * @param dir - A folder path.
 * @param name - A file or folder name (or a relative path) inside it.
 * @returns `dir/name`.
 */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

/** Kinds of temporary siblings: `tmp` (being written) and `old` (the previous version, set aside during a swap). @internal */
export type TempKind = 'tmp' | 'old';

const TEMP_NAME = /^(.*)\.(tmp|old)-(\d+)-([0-9a-f]{8})$/;

function randomSuffix(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID !== undefined) return c.randomUUID().slice(0, 8);
  return Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0');
}

/** This process's id (0 where there is no `process`). @internal */
export function currentPid(): number {
  return typeof process === 'object' && typeof process.pid === 'number' ? process.pid : 0;
}

/**
 * A fresh temporary sibling name for `base`: `${base}.${kind}-${pid}-${8 hex}`.
 * @internal
 */
export function tempName(base: string, kind: TempKind): string {
  return `${base}.${kind}-${currentPid()}-${randomSuffix()}`;
}

/**
 * Parses a temporary sibling name made by {@link tempName}.
 * @returns its base, kind and writer pid, or `undefined` when `name` is not one.
 * @internal
 */
export function parseTempName(name: string): { base: string; kind: TempKind; pid: number } | undefined {
  const m = TEMP_NAME.exec(name);
  if (m === null) return undefined;
  return { base: m[1] as string, kind: m[2] as TempKind, pid: Number(m[3]) };
}
