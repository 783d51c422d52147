// Minimal static file server for the browser tests: one folder on 127.0.0.1 and a random port, every
// request recorded, optional extra response headers (e.g. COOP/COEP for a cross-origin isolated page).
import { readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

export interface Served {
  server: Server;
  url: string;
  requests: { path: string; status: number; type: string }[];
  close(): Promise<void>;
}

/** Serves `dir`; `headers` go on every response. */
export async function serve(dir: string, headers: Record<string, string> = {}): Promise<Served> {
  const requests: Served['requests'] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = resolve(dir, `.${path.endsWith('/') ? `${path}index.html` : path}`);
    let status = 404;
    let type = 'text/plain';
    let body: Buffer | string = 'not found';
    if ((file === dir || file.startsWith(dir + sep)) && statSync(file, { throwIfNoEntry: false })?.isFile()) {
      status = 200;
      type = MIME[extname(file)] ?? 'application/octet-stream';
      body = readFileSync(file);
    }
    requests.push({ path, status, type });
    res.writeHead(status, { ...headers, 'content-type': type });
    res.end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/`, requests, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}
