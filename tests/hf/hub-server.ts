// A stand-in for the Hugging Face Hub on 127.0.0.1: serves one folder as repo `org/tiny-gpt2` in the Hub's
// URL layout (`/{repo}/resolve/{revision}/{file}`) with its headers: X-Repo-Commit; for *.safetensors
// (LFS files) a 302 to `/cdn/{sha256}` with X-Linked-Etag (the sha256) and X-Linked-Size; for small
// files a 200 with ETag = the git blob sha1; 404 + X-Error-Code EntryNotFound / RepositoryNotFound;
// 401 without the token when one is required; `/old-org/...` 307s relatively to `/org/...` (a renamed repo).
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

/** A running stand-in. */
export interface HubStandIn {
  /** `http://127.0.0.1:port`. */
  endpoint: string;
  /** The commit sha every response names. */
  commit: string;
  /** Requests seen, as `METHOD path`. */
  requests: string[];
  /** Serve these bytes instead of a blob's real content (checksum-mismatch tests). */
  corrupt: Set<string>;
  /** Blobs (by sha256) whose download stops half-way with the connection dropped. */
  truncate: Set<string>;
  /** Stop. */
  close(): Promise<void>;
}

export async function startHub(folder: string, options: { repo?: string; token?: string } = {}): Promise<HubStandIn> {
  const repo = options.repo ?? 'org/tiny-gpt2';
  const commit = createHash('sha1').update(folder).digest('hex');
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(folder)) files.set(name, readFileSync(join(folder, name)));
  const sha256 = new Map<string, Buffer>();
  for (const data of files.values()) sha256.set(createHash('sha256').update(data).digest('hex'), data);
  const requests: string[] = [];
  const corrupt = new Set<string>();
  const truncate = new Set<string>();
  let endpoint = '';
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = decodeURIComponent(req.url ?? '');
    requests.push(`${req.method} ${url}`);
    const head = req.method === 'HEAD';
    if (url.startsWith('/cdn/')) {
      const data = sha256.get(url.slice(5));
      if (data === undefined) return void res.writeHead(404).end();
      const body = corrupt.has(url.slice(5)) ? Buffer.from(data).fill(7, 0, 16) : data;
      res.writeHead(200, { 'content-length': body.length });
      if (!head && truncate.has(url.slice(5))) {
        res.write(body.subarray(0, body.length >> 1));
        return void setTimeout(() => res.destroy(), 50);
      }
      return void res.end(head ? undefined : body);
    }
    if (url.startsWith('/old-org/')) return void res.writeHead(307, { location: url.replace('/old-org/', '/org/') }).end();
    const m = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    if (m === null || m[1] !== repo) return void res.writeHead(404, { 'x-error-code': 'RepositoryNotFound' }).end();
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) return void res.writeHead(401, { 'x-error-code': 'GatedRepo' }).end();
    const data = files.get(m[3] as string);
    if (data === undefined) return void res.writeHead(404, { 'x-error-code': 'EntryNotFound', 'x-repo-commit': commit }).end();
    if ((m[3] as string).endsWith('.safetensors')) {
      const sha = createHash('sha256').update(data).digest('hex');
      res.writeHead(302, { location: `${endpoint}/cdn/${sha}`, 'x-repo-commit': commit, 'x-linked-etag': `"${sha}"`, 'x-linked-size': data.length });
      return void res.end();
    }
    const blobSha1 = createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
    res.writeHead(200, { etag: `"${blobSha1}"`, 'x-repo-commit': commit, 'content-length': data.length });
    res.end(head ? undefined : data);
  };
  const server: Server = createServer(handle);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint, commit, requests, corrupt, truncate,
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
