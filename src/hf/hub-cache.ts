/**
 * Hub settings from the environment and the cache layout of `huggingface_hub`, so that a file
 * downloaded by Python is reused here and the other way round:
 * ```
 * {cache}/models--{org}--{name}/blobs/{etag}                  the content
 * {cache}/models--{org}--{name}/snapshots/{commit}/{file}     relative symlink -> ../../blobs/{etag}
 * {cache}/models--{org}--{name}/refs/{revision}               the commit sha of a branch or tag
 * {cache}/models--{org}--{name}/.no_exist/{commit}/{file}     empty marker: the repo has no such file
 * ```
 * Node.js only (modules imported lazily).
 * @module
 */
import { ConfigError } from '../errors';
import type { Logger } from '../logging/logger';
import { ensureDir, errorCode, readFileBytes, writeFileAtomic } from '../io/atomic';
import { joinPath } from '../io/paths';

/** Where and how to reach the Hugging Face Hub. Every field falls back to the variable `huggingface_hub` reads. */
export interface HubOptions {
  /** Branch, tag or commit sha. Default `'main'`. */
  revision?: string;
  /** Hub address. Default: env `HF_ENDPOINT`, else `https://huggingface.co`. */
  endpoint?: string;
  /** Cache root. Default: env `HF_HUB_CACHE` (or `HUGGINGFACE_HUB_CACHE`), else `$HF_HOME/hub`; `HF_HOME` defaults to `$XDG_CACHE_HOME/huggingface` or `~/.cache/huggingface`. */
  cacheDir?: string;
  /** Access token for gated or private repos; `false` sends none. Default: env `HF_TOKEN` (or `HUGGING_FACE_HUB_TOKEN`), else the file `HF_TOKEN_PATH` (default `$HF_HOME/token`). */
  token?: string | false;
  /** Never touch the network; serve from the cache only. Default: env `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) is `1`/`true`/`yes`. */
  offline?: boolean;
  /** Receives download progress (`progress` events, unit `B`) and messages. Default: silent. */
  logger?: Logger;
  /** Per-request timeout in ms (headers, and each gap between data chunks). Default: env `HF_HUB_DOWNLOAD_TIMEOUT` seconds, else 10 s. */
  timeoutMs?: number;
}

/** {@link HubOptions} with the environment applied. @internal */
export interface ResolvedHubOptions {
  revision: string;
  endpoint: string;
  cacheDir: string;
  token: string | undefined;
  offline: boolean;
  logger: Logger | undefined;
  timeoutMs: number;
}

function env(name: string): string | undefined {
  const v = typeof process === 'object' ? process.env[name] : undefined;
  return v === undefined || v === '' ? undefined : v;
}

const truthy = (v: string | undefined): boolean => v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.toLowerCase());

async function homeDir(): Promise<string> {
  const os = await import('node:os');
  return os.homedir();
}

/** `HF_HOME`, as `huggingface_hub` computes it. @internal */
export async function hfHome(): Promise<string> {
  return env('HF_HOME') ?? joinPath(env('XDG_CACHE_HOME') ?? joinPath(await homeDir(), '.cache'), 'huggingface');
}

async function tokenFromFile(): Promise<string | undefined> {
  const path = env('HF_TOKEN_PATH') ?? joinPath(await hfHome(), 'token');
  try {
    const text = new TextDecoder().decode(await readFileBytes(path)).trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

/** Validates {@link HubOptions} and applies the environment. @internal */
export async function resolveHubOptions(o: HubOptions = {}): Promise<ResolvedHubOptions> {
  const revision = o.revision ?? 'main';
  if (typeof revision !== 'string' || revision === '' || revision.includes('..')) throw new ConfigError('revision', revision, 'must be a branch, tag or commit sha');
  const endpoint = (o.endpoint ?? env('HF_ENDPOINT') ?? 'https://huggingface.co').replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/]+/.test(endpoint)) throw new ConfigError('endpoint', endpoint, 'must be an http(s) URL');
  const cacheDir = o.cacheDir ?? env('HF_HUB_CACHE') ?? env('HUGGINGFACE_HUB_CACHE') ?? joinPath(await hfHome(), 'hub');
  const token = o.token === false ? undefined : o.token ?? env('HF_TOKEN') ?? env('HUGGING_FACE_HUB_TOKEN') ?? (await tokenFromFile());
  const offline = o.offline ?? (truthy(env('HF_HUB_OFFLINE')) || truthy(env('TRANSFORMERS_OFFLINE')));
  const timeoutMs = o.timeoutMs ?? 1000 * Number(env('HF_HUB_DOWNLOAD_TIMEOUT') ?? 10);
  if (!(timeoutMs > 0)) throw new ConfigError('timeoutMs', timeoutMs, 'must be a positive number of milliseconds');
  return { revision, endpoint, cacheDir, token, offline, logger: o.logger, timeoutMs };
}

/** A Hub repo id: `name` or `org/name`, letters, digits, `-`, `_`, `.`; no `--` or `..`. @internal */
export function isRepoId(s: string): boolean {
  return /^(?:[A-Za-z0-9][\w.-]{0,95}\/)?[A-Za-z0-9][\w.-]{0,95}$/.test(s) && !s.includes('--') && !s.includes('..');
}

/** `{cache}/models--org--name`. @internal */
export function repoFolder(cacheDir: string, repo: string): string {
  return joinPath(cacheDir, `models--${repo.split('/').join('--')}`);
}

/** A 40-hex git commit sha. @internal */
export const isCommit = (s: string): boolean => /^[0-9a-f]{40}$/.test(s);

async function exists(path: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  try {
    await fs.stat(path);
    return true;
  } catch (e) {
    if (errorCode(e) === 'ENOENT' || errorCode(e) === 'ENOTDIR') return false;
    throw e;
  }
}

/**
 * The cached copy of a file: its snapshot path, `null` when a `.no_exist` marker says the repo has no
 * such file, `undefined` when nothing is known. @internal
 */
export async function cachedFile(o: ResolvedHubOptions, repo: string, file: string): Promise<string | null | undefined> {
  const root = repoFolder(o.cacheDir, repo);
  let commit = isCommit(o.revision) ? o.revision : undefined;
  if (commit === undefined) {
    try {
      commit = new TextDecoder().decode(await readFileBytes(joinPath(root, `refs/${o.revision}`))).trim();
    } catch {
      return undefined;
    }
  }
  const snapshot = joinPath(root, `snapshots/${commit}/${file}`);
  if (await exists(snapshot)) return snapshot;
  if (await exists(joinPath(root, `.no_exist/${commit}/${file}`))) return null;
  return undefined;
}

/** Records `refs/{revision}` -> commit (atomically), unless the revision is the commit itself. @internal */
export async function writeRef(o: ResolvedHubOptions, repo: string, commit: string): Promise<void> {
  if (o.revision === commit) return;
  const path = joinPath(repoFolder(o.cacheDir, repo), `refs/${o.revision}`);
  await ensureDir(path.slice(0, path.lastIndexOf('/')));
  await writeFileAtomic(path, commit);
}

/** Writes the empty `.no_exist/{commit}/{file}` marker. @internal */
export async function markMissing(o: ResolvedHubOptions, repo: string, commit: string, file: string): Promise<void> {
  const path = joinPath(repoFolder(o.cacheDir, repo), `.no_exist/${commit}/${file}`);
  await ensureDir(path.slice(0, path.lastIndexOf('/')));
  await writeFileAtomic(path, '');
}

/** Points `snapshots/{commit}/{file}` at `blobs/{etag}` with a relative symlink (a copy where links fail). @internal */
export async function linkSnapshot(o: ResolvedHubOptions, repo: string, commit: string, file: string, etag: string): Promise<string> {
  const fs = await import('node:fs/promises');
  const root = repoFolder(o.cacheDir, repo);
  const pointer = joinPath(root, `snapshots/${commit}/${file}`);
  const dir = pointer.slice(0, pointer.lastIndexOf('/'));
  await ensureDir(dir);
  const blob = joinPath(root, `blobs/${etag}`);
  const depth = file.split('/').length + 1; // snapshots/{commit}/[sub/]file -> ../../[../]blobs
  const target = `${'../'.repeat(depth)}blobs/${etag}`;
  await fs.rm(pointer, { force: true });
  try {
    await fs.symlink(target, pointer);
  } catch {
    await fs.copyFile(blob, pointer);
  }
  return pointer;
}
