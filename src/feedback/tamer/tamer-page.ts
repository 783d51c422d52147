/**
 * `TamerPage`: the page for {@link TamerFeedback}. PPO's samples stream onto a local web page one
 * after another, each for `displayMs`, while a person presses +1 / -1; the presses become rewards
 * through TAMER's credit assignment. A small `node:http` server (imported lazily; Node.js only):
 *
 * - `GET /` — the page (strict Content-Security-Policy with a per-response nonce).
 * - `GET /api/stream` — Server-Sent Events: `sample` `{ seq, index, count, prompt, response,
 *   displayMs, elapsedMs }` when a sample goes on screen, `idle` `{}` when none is.
 * - `POST /api/feedback` with `{ "value": 1 }` or `{ "value": -1 }` (JSON) — records a press at the
 *   server's time of arrival; 200 `{ ok: true }`, 400 for an invalid body, 413 past the size cap,
 *   415 when it is not `application/json`.
 *
 * The server is the clock of record: it registers each sample with `feedback.shown(id, start)` when it
 * tells the page to show it and `feedback.hidden(id, end)` when it replaces it, and each press with
 * `feedback.give(value, now)`, all on the same `clock` as the {@link TamerFeedback}. Every request needs
 * the session token, as `?token=` or the `X-Label-Token` header; without it the answer is 403 and
 * nothing is recorded. The server binds to 127.0.0.1 unless told otherwise (and logs a warning when
 * bound elsewhere); a `Host` header other than this machine's (or `allowedHosts`) gets 403.
 * @module
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ConfigError, RlhfError } from '../../errors';
import { silentLogger, type Logger } from '../../logging/logger';
import type { RewardFunction, RewardSample } from '../../ppo/options';
import type { TamerFeedback, TamerRewardOptions } from './tamer';
import { checkTamerPageOptions, type TamerPageOptions, type TamerPageRewardOptions, type TamerPageSettings } from './tamer-page-options';
import { tamerPageHtml } from './tamer-page-html';
import { pageCsp } from '../page-common';
import { ApiError, listenLocal, randomHex, readJsonBody, sameSecret, SECURITY_HEADERS, sendJson } from '../../http/local-server';

interface Batch { remaining: number; viewerTimeoutMs: number; played: Promise<void>; done: () => void }
interface Queued { id: string; sample: RewardSample; index: number; count: number; batch: Batch }
interface Current { item: Queued; seq: number; startMs: number; withdrawn: boolean }

/** Headers of every reply (the page's CSP replaces the default one). */
const REPLY_HEADERS: [string, string][] = [...Object.entries(SECURITY_HEADERS), ['Content-Security-Policy', "default-src 'none'"]];

function sendError(res: ServerResponse, e: ApiError): void {
  sendJson(res, e.status, { error: e.message }, e.headers);
}

/** A live feedback page in front of a {@link TamerFeedback}. Start it with {@link TamerPage.start}. */
export class TamerPage {
  /** The page's address, token included: give it to the person who gives feedback. */
  readonly url: string;
  private readonly queue: Queued[] = [];
  private readonly streams = new Set<ServerResponse>();
  private readonly viewerWaiters = new Set<() => void>();
  private current: Current | undefined;
  private playing = false;
  private closed = false;
  private seq = 0;
  private recorded = 0;

  private constructor(
    private readonly server: Server,
    private readonly feedback: TamerFeedback,
    private readonly settings: TamerPageSettings,
    private readonly logger: Logger,
    base: string,
  ) {
    this.url = `${base}/?token=${settings.token}`;
  }

  /**
   * Starts the server and resolves once it listens.
   * @param options - See {@link TamerPageOptions}.
   * @returns The running page; read {@link TamerPage.url}.
   * @throws A {@link ConfigError} for an invalid option; the Node.js error when the port is taken.
   */
  static async start(options: TamerPageOptions): Promise<TamerPage> {
    const settings = checkTamerPageOptions(options);
    const logger = options.logger ?? silentLogger;
    let self: TamerPage | undefined;
    const { server, port, url } = await listenLocal(settings, (req, res) => {
      for (const [name, value] of REPLY_HEADERS) res.setHeader(name, value);
      if (self === undefined) return sendJson(res, 503, { error: 'starting' });
      self.handle(req, res).catch((e: unknown) => {
        if (e instanceof ApiError) return sendError(res, e);
        logger.log('error', `TAMER page: ${e instanceof Error ? e.message : 'non-Error thrown'}`);
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      });
    }, sendError, logger, 'TamerPage');
    self = new TamerPage(server, options.feedback, settings, logger, url);
    logger.log('info', `live feedback page at ${self.url}`, { host: settings.host, port, displayMs: settings.displayMs });
    return self;
  }

  /** Presses recorded so far. */
  get presses(): number {
    return this.recorded;
  }

  /** Pages open now (event streams connected). */
  get viewers(): number {
    return this.streams.size;
  }

  /**
   * A PPO {@link RewardFunction}: each batch is played on the page, one sample after another for
   * `displayMs` each (waiting for a page to be open before each one), then scored by
   * {@link TamerFeedback.rewardFunction}: the credited presses, or `noFeedbackReward`.
   * @param options - See {@link TamerPageRewardOptions}; validated here ({@link ConfigError}).
   * @throws (the returned function) An {@link RlhfError} once the page is closed.
   */
  rewardFunction(options: TamerPageRewardOptions = {}): RewardFunction {
    const { viewerTimeoutMs = Number.POSITIVE_INFINITY, ...rest } = options;
    if (typeof viewerTimeoutMs !== 'number' || Number.isNaN(viewerTimeoutMs) || viewerTimeoutMs < 0) {
      throw new ConfigError('viewerTimeoutMs', viewerTimeoutMs, 'must be a number >= 0 (Infinity: wait for a page)');
    }
    const timeoutMs = rest.timeoutMs ?? this.feedback.window.maxDelayMs + 1000;
    const make = (present: TamerRewardOptions['present']): RewardFunction => this.feedback.rewardFunction({ ...rest, timeoutMs, present });
    make(() => undefined); // validates the options now
    return async (samples) => {
      if (this.closed) throw new RlhfError('TamerPage is closed');
      let batch: Batch | undefined;
      const score = make((s, ids) => {
        batch = this.enqueue(s, ids, viewerTimeoutMs);
        return batch.played;
      });
      try {
        return await score(samples);
      } finally {
        if (batch !== undefined) this.withdraw(batch);
      }
    };
  }

  /** Stops the server: the sample on screen ends now, queued samples are dropped (they score `noFeedbackReward`). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.current !== undefined) this.end(this.current);
    for (const item of this.queue.splice(0)) this.finish(item.batch);
    for (const wake of [...this.viewerWaiters]) wake();
    for (const res of this.streams) res.end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private enqueue(samples: RewardSample[], ids: string[], viewerTimeoutMs: number): Batch {
    let done = (): void => undefined;
    const played = new Promise<void>((resolve) => { done = resolve; });
    const batch: Batch = { remaining: samples.length, viewerTimeoutMs, played, done };
    if (samples.length === 0 || this.closed) batch.done();
    else samples.forEach((sample, index) => this.queue.push({ id: ids[index] ?? `${index}`, sample, index, count: samples.length, batch }));
    if (!this.playing && !this.closed) {
      this.play().catch((e: unknown) => this.logger.log('error', `TAMER page: ${e instanceof Error ? e.message : String(e)}`));
    }
    return batch;
  }

  /** Removes what is left of a scored batch: queued samples, and the one on screen from the feedback's view. */
  private withdraw(batch: Batch): void {
    if (this.current?.item.batch === batch) this.current.withdrawn = true;
    const kept = this.queue.filter((item) => item.batch !== batch);
    for (let n = this.queue.length - kept.length; n > 0; n--) this.finish(batch);
    this.queue.splice(0, this.queue.length, ...kept);
  }

  private finish(batch: Batch): void {
    if (--batch.remaining === 0) batch.done();
  }

  private async play(): Promise<void> {
    this.playing = true;
    try {
      for (let item = this.queue[0]; item !== undefined && !this.closed; item = this.queue[0]) {
        if (!(await this.viewerPresent(item.batch.viewerTimeoutMs))) {
          if (this.closed) break;
          this.logger.log('warn', `TAMER page: no page open for ${item.batch.viewerTimeoutMs} ms; the batch's remaining samples are dropped`);
          this.withdraw(item.batch);
          continue;
        }
        if (this.queue[0] !== item) continue; // withdrawn while waiting
        this.queue.shift();
        const cur: Current = { item, seq: this.seq++, startMs: this.settings.clock.now(), withdrawn: false };
        this.feedback.shown(item.id, cur.startMs);
        this.current = cur;
        this.broadcast('sample', this.sampleJson(cur));
        await this.settings.clock.sleep(this.settings.displayMs);
        this.end(cur);
      }
    } finally {
      this.playing = false;
      if (!this.closed) this.broadcast('idle', {});
    }
  }

  /** Takes the sample off screen: registers its end with the feedback (unless its batch is already scored). */
  private end(cur: Current): void {
    if (this.current !== cur) return;
    this.current = undefined;
    const endMs = this.settings.clock.now();
    if (!cur.withdrawn) this.feedback.hidden(cur.item.id, endMs);
    this.logger.log('debug', 'TAMER sample shown', { id: cur.item.id, index: cur.item.index, startMs: cur.startMs, endMs });
    this.finish(cur.item.batch);
  }

  /** Resolves `true` once a page is open, `false` after `timeoutMs` without one or when closed. */
  private viewerPresent(timeoutMs: number): Promise<boolean> {
    if (this.closed || this.streams.size > 0) return Promise.resolve(!this.closed);
    this.logger.log('info', `TAMER page: waiting for a page to be opened at ${this.url}`);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.viewerWaiters.delete(wake);
        resolve(!this.closed && this.streams.size > 0);
      };
      const timer = Number.isFinite(timeoutMs) ? setTimeout(wake, timeoutMs) : undefined;
      this.viewerWaiters.add(wake);
    });
  }

  private sampleJson(cur: Current): unknown {
    const { item } = cur;
    const elapsedMs = Math.max(0, this.settings.clock.now() - cur.startMs);
    return { seq: cur.seq, index: item.index, count: item.count, prompt: item.sample.prompt, response: item.sample.response, displayMs: this.settings.displayMs, elapsedMs };
  }

  private broadcast(event: string, data: unknown): void {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.streams) res.write(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrivedMs = this.settings.clock.now();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const header = req.headers['x-label-token'];
    if (!sameSecret(typeof header === 'string' ? header : url.searchParams.get('token') ?? '', this.settings.token)) {
      this.logger.log('warn', `TAMER page: refused ${req.method ?? '?'} ${url.pathname} (wrong or missing token)`);
      return sendJson(res, 403, { error: 'wrong or missing token' });
    }
    const route = `${req.method ?? ''} ${url.pathname}`;
    if (route === 'GET /') return this.page(res);
    if (route === 'GET /api/stream') return this.stream(res);
    if (route === 'POST /api/feedback') return this.press(req, res, arrivedMs);
    if (['/', '/api/stream', '/api/feedback'].includes(url.pathname)) return sendJson(res, 405, { error: `${req.method ?? ''} not allowed here` });
    return sendJson(res, 404, { error: 'not found' });
  }

  private page(res: ServerResponse): void {
    const nonce = randomHex(16);
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': pageCsp(nonce) });
    res.end(tamerPageHtml(nonce));
  }

  private stream(res: ServerResponse): void {
    if (this.closed) return sendJson(res, 503, { error: 'closed' });
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    res.write('retry: 1000\n\n');
    const cur = this.current;
    res.write(cur === undefined ? 'event: idle\ndata: {}\n\n' : `event: sample\ndata: ${JSON.stringify(this.sampleJson(cur))}\n\n`);
    this.streams.add(res);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    res.on('close', () => {
      clearInterval(ping);
      this.streams.delete(res);
    });
    for (const wake of [...this.viewerWaiters]) wake();
  }

  private async press(req: IncomingMessage, res: ServerResponse, arrivedMs: number): Promise<void> {
    const body = await readJsonBody(req, this.settings.maxBodyBytes);
    const value = typeof body === 'object' && body !== null ? (body as { value?: unknown }).value : undefined;
    if (value !== 1 && value !== -1) return sendJson(res, 400, { error: 'body must be { "value": 1 } or { "value": -1 }' });
    this.feedback.give(value, arrivedMs);
    this.recorded++;
    this.logger.log('debug', 'TAMER press', { value, atMs: arrivedMs, onScreen: this.current?.item.id });
    sendJson(res, 200, { ok: true });
  }
}
