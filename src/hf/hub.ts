/**
 * Downloading one file of a Hugging Face Hub repo into the shared cache, as `huggingface_hub`'s
 * `hf_hub_download` does: `HEAD {endpoint}/{repo}/resolve/{revision}/{file}` (relative redirects followed,
 * the CDN redirect read, not followed) gives the commit (`X-Repo-Commit`), the blob id (`X-Linked-Etag`
 * or `ETag`) and the size; the content then streams into `blobs/{etag}.{random}.incomplete` and is
 * renamed to `blobs/{etag}` only once its size and, for LFS files (sha256 etags), its checksum match.
 * A killed download never leaves a file that looks complete. Node 20's global `fetch`; Node.js only.
 * @module
 */
import { ConfigError, HubError } from '../errors';
import { joinPath } from '../io/paths';
import { ensureDir } from '../io/atomic';
import {
  cachedFile, isCommit, isRepoId, linkSnapshot, markMissing, repoFolder, resolveHubOptions, writeRef,
  type HubOptions, type ResolvedHubOptions,
} from './hub-cache';

export type { HubOptions } from './hub-cache';

interface FileMetadata {
  commit: string;
  etag: string;
  size: number | undefined;
  url: string;
}

/** `refs/pr/1` -> `refs%2Fpr%2F1`; a file path keeps its `/`. */
function resolveUrl(o: ResolvedHubOptions, repo: string, file: string): string {
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${o.endpoint}/${repo}/resolve/${encodeURIComponent(o.revision)}/${path}`;
}

function headers(o: ResolvedHubOptions, withToken: boolean): Record<string, string> {
  const h: Record<string, string> = { 'user-agent': 'tfjs-rlhf', 'accept-encoding': 'identity' };
  if (withToken && o.token !== undefined) h.authorization = `Bearer ${o.token}`;
  return h;
}

const cleanEtag = (v: string | null): string | undefined => v?.replace(/^W\//, '').replace(/"/g, '') || undefined;

async function request(url: string, init: RequestInit, o: ResolvedHubOptions, repo: string, file: string): Promise<Response> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(o.timeoutMs), ...init });
  } catch (e) {
    throw new HubError(repo, file, `cannot reach ${url.slice(0, 200)}: ${(e as Error).message}`);
  }
}

/** HEAD with relative redirects followed; `{ missing: commit }` when the repo has no such file (404 EntryNotFound). */
async function fileMetadata(o: ResolvedHubOptions, repo: string, file: string): Promise<FileMetadata | { missing: string }> {
  let url = resolveUrl(o, repo, file);
  for (let hop = 0; hop < 10; hop++) {
    const res = await request(url, { method: 'HEAD', headers: headers(o, true), redirect: 'manual' }, o, repo, file);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location !== null && location.startsWith('/')) {
      url = new URL(location, url).toString(); // renamed repo: follow
      continue;
    }
    const code = res.headers.get('x-error-code') ?? '';
    const commit = res.headers.get('x-repo-commit') ?? '';
    if (res.status === 404 && code === 'EntryNotFound') return { missing: commit };
    if (res.status === 401 || res.status === 403) {
      throw new HubError(repo, file, `HTTP ${res.status}${code ? ` ${code}` : ''}: no access (gated or private repo? set HF_TOKEN)`, res.status);
    }
    if (res.status >= 400) throw new HubError(repo, file, `HTTP ${res.status}${code ? ` ${code}` : ''} from ${url.slice(0, 200)}`, res.status);
    const etag = cleanEtag(res.headers.get('x-linked-etag')) ?? cleanEtag(res.headers.get('etag'));
    if (!isCommit(commit) || etag === undefined || !/^[\w-]+$/.test(etag)) {
      throw new HubError(repo, file, 'the server did not send X-Repo-Commit and ETag headers (is HF_ENDPOINT a Hub?)', res.status);
    }
    const redirected = res.status >= 300 && location !== null;
    const sizeHeader = res.headers.get('x-linked-size') ?? (redirected ? null : res.headers.get('content-length'));
    return { commit, etag, size: sizeHeader === null ? undefined : Number(sizeHeader), url: redirected ? new URL(location, url).toString() : url };
  }
  throw new HubError(repo, file, 'too many redirects');
}

/** Streams the body into a temp file next to the blob, checks size and sha256, renames into place. */
async function downloadBlob(o: ResolvedHubOptions, repo: string, file: string, meta: FileMetadata): Promise<void> {
  const fs = await import('node:fs/promises');
  const { createHash, randomBytes } = await import('node:crypto');
  const blobs = joinPath(repoFolder(o.cacheDir, repo), 'blobs');
  await ensureDir(blobs);
  const blob = joinPath(blobs, meta.etag);
  const tmp = `${blob}.${randomBytes(4).toString('hex')}.incomplete`;
  const sameHost = new URL(meta.url).host === new URL(o.endpoint).host; // never send the token to a CDN
  // An idle timeout (reset by every chunk), not a total one: a large file may take minutes.
  const abort = new AbortController();
  let idle = setTimeout(() => abort.abort(new Error(`no data for ${o.timeoutMs} ms`)), o.timeoutMs);
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => abort.abort(new Error(`no data for ${o.timeoutMs} ms`)), o.timeoutMs);
  };
  const res = await request(meta.url, { headers: headers(o, sameHost), signal: abort.signal }, o, repo, file).catch((e: unknown) => {
    clearTimeout(idle);
    throw e;
  });
  if (!res.ok || res.body === null) {
    clearTimeout(idle);
    throw new HubError(repo, file, `download failed: HTTP ${res.status}`, res.status);
  }
  const hash = createHash('sha256');
  const handle = await fs.open(tmp, 'wx');
  let done = 0;
  let ok = false;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      touch();
      await handle.write(chunk);
      hash.update(chunk);
      done += chunk.length;
      o.logger?.progress?.({ task: `download ${repo}/${file}`, done, total: meta.size ?? done, unit: 'B' });
    }
    await handle.sync();
    if (meta.size !== undefined && done !== meta.size) {
      throw new HubError(repo, file, `consistency check failed: got ${done} bytes, the Hub announced ${meta.size}`);
    }
    const digest = hash.digest('hex');
    if (/^[0-9a-f]{64}$/.test(meta.etag) && digest !== meta.etag) {
      throw new HubError(repo, file, `checksum mismatch: sha256 ${digest}, expected ${meta.etag}`);
    }
    ok = true;
  } catch (e) {
    throw e instanceof HubError ? e : new HubError(repo, file, `download interrupted after ${done} bytes: ${(e as Error).message}`);
  } finally {
    clearTimeout(idle);
    await handle.close();
    if (!ok) await fs.rm(tmp, { force: true });
  }
  await fs.rename(tmp, blob);
}

/**
 * The local path of `file` in Hub repo `repo` at `options.revision`, downloaded into the cache when
 * not there yet; `undefined` when the repo has no such file. Offline (or when the Hub cannot be
 * reached) the cached copy is used. Progress goes to `options.logger`.
 * @param repo - `'org/name'` or `'name'`.
 * @param file - path inside the repo, e.g. `'config.json'`.
 * @throws {@link HubError} for no access, an unknown repo, a failed or corrupt download, or offline
 *   without a cached copy; {@link ConfigError} for a malformed repo id or file path.
 */
export async function hubFile(repo: string, file: string, options: HubOptions = {}): Promise<string | undefined> {
  if (typeof repo !== 'string' || !isRepoId(repo)) throw new ConfigError('repo', repo, 'must be a Hub repo id like "org/name"');
  if (typeof file !== 'string' || file === '' || file.startsWith('/') || file.includes('\\') || file.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new ConfigError('file', file, 'must be a relative path inside the repo, without "." or ".." parts');
  }
  const o = await resolveHubOptions(options);
  const cached = isCommit(o.revision) || o.offline ? await cachedFile(o, repo, file) : undefined;
  if (cached !== undefined) return cached ?? undefined;
  if (o.offline) throw new HubError(repo, file, `offline (HF_HUB_OFFLINE) and not in the cache ${o.cacheDir} at revision ${o.revision}`);
  let meta: FileMetadata | { missing: string };
  try {
    meta = await fileMetadata(o, repo, file);
  } catch (e) {
    const fallback = e instanceof HubError && e.status === undefined ? await cachedFile(o, repo, file) : undefined;
    if (fallback === undefined) throw e;
    o.logger?.log('warn', `Hub unreachable; using the cached ${repo}/${file}`, { reason: (e as Error).message });
    return fallback ?? undefined;
  }
  if ('missing' in meta) {
    if (isCommit(meta.missing)) await markMissing(o, repo, meta.missing, file);
    return undefined;
  }
  await writeRef(o, repo, meta.commit);
  const fs = await import('node:fs/promises');
  const blob = joinPath(repoFolder(o.cacheDir, repo), `blobs/${meta.etag}`);
  const have = await fs.stat(blob).then(() => true, () => false);
  if (!have) {
    o.logger?.log('info', `downloading ${repo}/${file}`, { revision: o.revision, bytes: meta.size });
    await downloadBlob(o, repo, file, meta);
  }
  return linkSnapshot(o, repo, meta.commit, file, meta.etag);
}
