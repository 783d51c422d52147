/**
 * `WebLabeler`: a {@link Labeler} that shows each item on a local web page and waits for a person to
 * rank it. A small `node:http` server (imported lazily; Node.js only) serves the page and a JSON API:
 *
 * - `GET /` — the page (strict Content-Security-Policy, see `pageCsp`).
 * - `GET /api/next?wait=MS` — the oldest waiting item `{ item: { key, id, prompt, messages?,
 *   responses, criteria, pending } }` (`messages` when the item is a conversation), long-polling up
 *   to `MS` (at most 30 s) for one; `{ item: null }` if none came.
 * - `POST /api/judgement` with `{ key, judgement }` (JSON) — answers the item; 200 `{ ok: true }`,
 *   400 with `{ error }` for an invalid body, 409 when the item is not waiting (already answered or
 *   withdrawn), 413 when the body exceeds the size cap, 415 when it is not `application/json`.
 *
 * Every request needs the session token, as `?token=` or the `X-Label-Token` header; without it the
 * answer is 403 and nothing is recorded. The server binds to 127.0.0.1 unless told otherwise (and logs
 * a warning when bound elsewhere); a `Host` header other than this machine's (or `allowedHosts`) gets 403.
 * @module
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ConfigError, RlhfError } from '../../errors';
import { silentLogger, type Logger } from '../../logging/logger';
import type { Judgement, Labeler, LabelRequest } from '../types';
import { checkCriteria, checkRequest, judgementProblem } from '../check-judgement';
import { labelPage } from './web-page';
import { pageCsp } from '../page-common';
import { ApiError, checkServerAddress, listenLocal, randomHex, readJsonBody, SECURITY_HEADERS, sameSecret, sendJson } from '../../http/local-server';

/** Options of {@link WebLabeler.start}. */
export interface WebLabelerOptions {
  /** TCP port; `0` picks a free one (read it from {@link WebLabeler.url}). Default `0`. */
  port?: number;
  /** Interface to bind. Default `'127.0.0.1'` (this machine only); other values expose the page (and log a warning). */
  host?: string;
  /** Host names accepted in the `Host` header besides the loopback ones and `host`; `['*']` accepts any. Default `[]`. */
  allowedHosts?: string[];
  /** Session token required by every request. Default: 32 random hex digits. */
  token?: string;
  /** Criteria to rate when a request names none. Default: none. */
  criteria?: string[];
  /** Name recorded with each judgement. Default `'web'`. */
  name?: string;
  /** Largest accepted POST body in bytes. Default `65536`. */
  maxBodyBytes?: number;
  /** Receives server messages (start, rejected requests). Default: the silent logger. */
  logger?: Logger;
}

interface Pending {
  key: number;
  request: LabelRequest & { criteria: readonly string[] };
  resolve: (j: Judgement) => void;
  reject: (e: unknown) => void;
}

const MAX_WAIT_MS = 30_000;

function checkOptions(o: WebLabelerOptions) {
  const address = checkServerAddress(o);
  checkCriteria(o.criteria, 'criteria', true);
  const name = o.name ?? 'web';
  if (typeof name !== 'string' || name === '') throw new ConfigError('name', name, 'must be a non-empty string');
  const maxBodyBytes = o.maxBodyBytes ?? 65_536;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1024) throw new ConfigError('maxBodyBytes', maxBodyBytes, 'must be an integer >= 1024');
  return { ...address, criteria: [...(o.criteria ?? [])], name, maxBodyBytes };
}

function sendError(res: ServerResponse, e: ApiError): void {
  sendJson(res, e.status, { error: e.message }, e.headers);
}

/** A labeller behind a local web page. Start it with {@link WebLabeler.start}. */
export class WebLabeler implements Labeler {
  /** Recorded with each judgement (option `name`, default `'web'`). */
  readonly name: string;
  /** The page's address, token included: give it to the person who labels. */
  readonly url: string;
  private readonly queue: Pending[] = [];
  private readonly waiters = new Set<(p: Pending | undefined) => void>();
  private nextKey = 1;
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly settings: ReturnType<typeof checkOptions>,
    private readonly logger: Logger,
    base: string,
  ) {
    this.name = settings.name;
    this.url = `${base}/?token=${settings.token}`;
  }

  /**
   * Starts the server and resolves once it listens.
   * @param options - See {@link WebLabelerOptions}.
   * @returns The running labeller; read {@link WebLabeler.url}.
   * @throws A {@link ConfigError} for an invalid option; the Node.js error when the port is taken.
   */
  static async start(options: WebLabelerOptions = {}): Promise<WebLabeler> {
    const settings = checkOptions(options);
    const logger = options.logger ?? silentLogger;
    let self: WebLabeler | undefined;
    const { server, port, url } = await listenLocal(settings, (req, res) => {
      if (self === undefined) return sendJson(res, 503, { error: 'starting' });
      self.handle(req, res).catch((e: unknown) => {
        if (e instanceof ApiError) return sendError(res, e);
        logger.log('error', `web labeler: ${e instanceof Error ? e.message : 'non-Error thrown'}`);
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      });
    }, sendError, logger, 'WebLabeler');
    self = new WebLabeler(server, settings, logger, url);
    logger.log('info', `labelling page at ${self.url}`, { host: settings.host, port });
    return self;
  }

  /** Items waiting for a judgement. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Queues an item for the page; resolves with the person's judgement. Items are shown oldest first.
   * @param request - The item; its criteria default to this labeller's `criteria` option.
   * @param signal - Withdraws the item from the page and rejects with the signal's reason.
   * @returns The judgement as posted (already checked against the item).
   * @throws An `InputError` for an invalid request; an {@link RlhfError} after {@link WebLabeler.close}.
   */
  label(request: LabelRequest, signal?: AbortSignal): Promise<Judgement> {
    checkRequest(request);
    if (this.closed) return Promise.reject(new RlhfError('WebLabeler is closed'));
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    return new Promise<Judgement>((resolve, reject) => {
      const criteria = request.criteria ?? this.settings.criteria;
      const messages = request.messages?.map((m) => ({ role: m.role, content: m.content }));
      const copy = { ...request, ...(messages !== undefined && { messages }), responses: [...request.responses], criteria: [...criteria] };
      const item: Pending = { key: this.nextKey++, request: copy, resolve, reject };
      const onAbort = (): void => {
        this.remove(item);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      item.resolve = (j) => { signal?.removeEventListener('abort', onAbort); resolve(j); };
      item.reject = (e) => { signal?.removeEventListener('abort', onAbort); reject(e); };
      this.queue.push(item);
      if (this.queue.length === 1) for (const wake of [...this.waiters]) wake(item);
    });
  }

  /** Stops the server; waiting `label` calls reject with an {@link RlhfError}. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const wake of [...this.waiters]) wake(undefined);
    for (const item of this.queue.splice(0)) item.reject(new RlhfError('WebLabeler closed before the item was judged'));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private remove(item: Pending): void {
    const i = this.queue.indexOf(item);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private itemJson(p: Pending): unknown {
    const { id, prompt, messages, responses, criteria } = p.request;
    return { item: { key: p.key, id, prompt, ...(messages !== undefined && { messages }), responses, criteria, pending: this.queue.length } };
  }

  private authorised(req: IncomingMessage, url: URL): boolean {
    const header = req.headers['x-label-token'];
    const given = typeof header === 'string' ? header : url.searchParams.get('token') ?? '';
    return sameSecret(given, this.settings.token);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!this.authorised(req, url)) {
      this.logger.log('warn', `web labeler: refused ${req.method ?? '?'} ${url.pathname} (wrong or missing token)`);
      return sendJson(res, 403, { error: 'wrong or missing token' });
    }
    const route = `${req.method ?? ''} ${url.pathname}`;
    if (route === 'GET /') return this.page(res);
    if (route === 'GET /api/next') return this.next(res, url);
    if (route === 'POST /api/judgement') return this.judgement(req, res);
    if (['/', '/api/next', '/api/judgement'].includes(url.pathname)) return sendJson(res, 405, { error: `${req.method ?? ''} not allowed here` });
    return sendJson(res, 404, { error: 'not found' });
  }

  private page(res: ServerResponse): void {
    const nonce = randomHex(16);
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': pageCsp(nonce) });
    res.end(labelPage(nonce));
  }

  private next(res: ServerResponse, url: URL): void {
    const head = this.queue[0];
    if (head !== undefined) return sendJson(res, 200, this.itemJson(head));
    const wait = Math.min(Math.max(Number(url.searchParams.get('wait') ?? 0) || 0, 0), MAX_WAIT_MS);
    if (wait === 0 || this.closed) return sendJson(res, 200, { item: null });
    const wake = (p: Pending | undefined): void => {
      clearTimeout(timer);
      this.waiters.delete(wake);
      if (!res.writableEnded) sendJson(res, 200, p === undefined ? { item: null } : this.itemJson(p));
    };
    const timer = setTimeout(() => wake(undefined), wait);
    this.waiters.add(wake);
    res.on('close', () => { clearTimeout(timer); this.waiters.delete(wake); });
  }

  private async judgement(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = await readJsonBody(req, this.settings.maxBodyBytes);
    const o = parsed as { key?: unknown; judgement?: unknown };
    if (typeof parsed !== 'object' || parsed === null || typeof o.key !== 'number') {
      return sendJson(res, 400, { error: 'body must be { "key": number, "judgement": {...} }' });
    }
    const item = this.queue.find((p) => p.key === o.key);
    if (item === undefined) return sendJson(res, 409, { error: `item ${o.key} is not waiting (already judged or withdrawn)` });
    const problem = judgementProblem(o.judgement, item.request.responses.length, item.request.criteria);
    if (problem !== undefined) return sendJson(res, 400, { error: problem });
    this.remove(item);
    item.resolve(o.judgement as Judgement);
    sendJson(res, 200, { ok: true });
  }
}
