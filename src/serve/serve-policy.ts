/**
 * `servePolicy`: an OpenAI-compatible Chat Completions server for a {@link TransformerPolicy}, so any
 * OpenAI client (curl, the `openai` packages, a {@link JudgeLabeler}) can talk to the model.
 * Node only: `node:http` is imported when the function is called.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError } from '../errors';
import { silentLogger, type Logger } from '../logging/logger';
import type { TransformerPolicy } from '../models/policy';
import { Rng } from '../ops/random';
import type { Tokenizer } from '../tokenizers/tokenizer';
import { checkInteger } from '../ops/validate';
import { parseChatRequest } from './chat-request';
import { handleCompletion, type CompletionContext } from './chat-handler';
import { ApiError, checkAddress, listenLocal, readJsonBody, sameSecret, sendJson } from '../http/local-server';
import { SerialQueue } from './queue';
import { checkModerator, type Moderator } from '../moderation/types';
import { handleModerations } from './moderation-handler';

/** Options of {@link servePolicy}. */
export interface ServePolicyOptions {
  /** The model that answers. Required. */
  policy: TransformerPolicy;
  /** Encodes the chat template and decodes replies; its `eosId` ends a reply. Required. */
  tokenizer: Tokenizer;
  /** TCP port; `0` picks a free one (read it from the result). Default `0`. */
  port?: number;
  /** Interface to listen on. Default `'127.0.0.1'` (this machine only); any other address logs a warning. */
  host?: string;
  /**
   * Host names accepted in the `Host` header besides 127.0.0.1, localhost, [::1] and `host` itself
   * (others get 403, which stops DNS rebinding); `['*']` accepts any, e.g. behind a reverse proxy. Default `[]`.
   */
  allowedHosts?: string[];
  /** Most requests that may wait behind the one being answered; more get 503 with `Retry-After`. Default `16`. */
  maxQueue?: number;
  /** Model name clients must send, listed by `GET /v1/models`. Default `'tfjs-rlhf'`. */
  model?: string;
  /** When set, every request must carry `Authorization: Bearer <apiKey>` (else 401). Default: none. */
  apiKey?: string;
  /** Reply length when a request gives no `max_tokens` (capped by the context left). Default `128`. */
  maxNewTokens?: number;
  /** Largest request body in bytes (else 413). Default `1048576` (1 MiB). */
  maxBodyBytes?: number;
  /** Largest `n` (choices per request) accepted. Default `4`. */
  maxChoices?: number;
  /** Tokens generated per step between stop-string checks and stream chunks. Default `16`. */
  chunkTokens?: number;
  /** Seed of the server's random stream (requests without `seed` draw from it). Default: the policy's own stream. */
  seed?: number;
  /** Receives one `info` record per completion and `error` records for failures. Default: silent. */
  logger?: Logger;
  /**
   * Checks the last user message of each chat request before generating: a flagged one gets no
   * generation, but an empty assistant message with `finish_reason: "content_filter"` (streaming too)
   * and a `warn` log record; a moderator that throws fails the request (500) without generating. Also
   * serves `POST /v1/moderations`. Default: none (no check, no endpoint).
   */
  moderation?: Moderator;
}

/** A running server, returned by {@link servePolicy}. */
export interface PolicyServer {
  /** Base URL without the `/v1` suffix, e.g. `"http://127.0.0.1:41235"`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** The model name it answers to. */
  readonly model: string;
  /** Stops listening and closes open connections; resolves once the port is free. */
  close(): Promise<void>;
}

function resolveOptions(o: ServePolicyOptions) {
  if (typeof o !== 'object' || o === null || o.policy === undefined) throw new ConfigError('policy', undefined, 'is required');
  if (o.tokenizer === undefined) throw new ConfigError('tokenizer', undefined, 'is required');
  if (o.tokenizer.vocabSize > o.policy.config.vocabSize) {
    throw new ConfigError('tokenizer.vocabSize', o.tokenizer.vocabSize, `exceeds the policy's vocabSize ${o.policy.config.vocabSize}`);
  }
  const model = o.model ?? 'tfjs-rlhf';
  if (typeof model !== 'string' || model === '') throw new ConfigError('model', model, 'must be a non-empty string');
  if (o.apiKey !== undefined && (typeof o.apiKey !== 'string' || o.apiKey === '')) throw new ConfigError('apiKey', o.apiKey, 'must be a non-empty string');
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) throw new ConfigError('seed', o.seed, 'must be an integer');
  return {
    model,
    address: checkAddress(o),
    maxQueue: checkInteger('maxQueue', o.maxQueue ?? 16, 0),
    maxNewTokens: checkInteger('maxNewTokens', o.maxNewTokens ?? 128, 1),
    maxBodyBytes: checkInteger('maxBodyBytes', o.maxBodyBytes ?? 1 << 20, 1),
    maxChoices: checkInteger('maxChoices', o.maxChoices ?? 4, 1),
    chunkTokens: checkInteger('chunkTokens', o.chunkTokens ?? 16, 1),
  };
}

/** Sends an {@link ApiError} as an OpenAI error object `{ error: { message, type, param, code } }`. */
function sendError(res: ServerResponse, e: ApiError): void {
  sendJson(res, e.status, { error: { message: e.message, type: e.type, param: e.param, code: e.code } }, e.headers);
}

function modelCard(model: string, created: number) {
  return { id: model, object: 'model', created, owned_by: 'tfjs-rlhf' };
}

/**
 * Serves a policy over an OpenAI-compatible API:
 * - `POST /v1/chat/completions`: `{ model, messages, max_tokens | max_completion_tokens, temperature,
 *   top_p, stop, stream, stream_options, seed, n }` → a `chat.completion` object, or with
 *   `stream: true` server-sent `chat.completion.chunk` events ending in `data: [DONE]`;
 * - `GET /v1/models` and `GET /v1/models/{model}`;
 * - with `moderation`: `POST /v1/moderations` (`{ input }` -> `{ results: [{ flagged, categories, category_scores }] }`),
 *   and flagged chat requests answered with `finish_reason: "content_filter"` without generating.
 *
 * Messages are rendered with the library's chat template (`tokenizeChatPrompt`); a reply ends at EOS,
 * at the next turn header (`<|user|>` ...), at a stop string, or at the token limit. Requests are
 * served one at a time, in arrival order (tfjs runs one thing at a time anyway). Invalid requests
 * get an OpenAI-style error object `{ error: { message, type, param, code } }` with status 400
 * (404 for an unknown model or path, 401 for a missing key, 413 for an oversized body, 415 for a body
 * that is not `Content-Type: application/json`, 403 for a `Host` header that is not this machine or in
 * `allowedHosts`, 503 with `Retry-After` when `maxQueue` requests already wait).
 * @param options - See {@link ServePolicyOptions}; validated here ({@link ConfigError}).
 * @returns The running server; call `close()` when done.
 * @example
 * ```ts
 * const server = await servePolicy({ policy, tokenizer: new ByteTokenizer(), port: 8080 });
 * // curl http://127.0.0.1:8080/v1/chat/completions -H 'content-type: application/json' \
 * //   -d '{"model":"tfjs-rlhf","messages":[{"role":"user","content":"Hi"}]}'
 * ```
 */
export async function servePolicy(options: ServePolicyOptions): Promise<PolicyServer> {
  const o = resolveOptions(options);
  const logger = options.logger ?? silentLogger;
  const rng = options.seed === undefined ? undefined : new Rng(options.seed);
  const created = Math.floor(Date.now() / 1000);
  const ctx: CompletionContext = {
    policy: options.policy, tokenizer: options.tokenizer, model: o.model, maxNewTokens: o.maxNewTokens,
    chunkTokens: o.chunkTokens, logger, drawSeed: () => rng?.nextUint32(), queue: new SerialQueue(o.maxQueue),
    ...(options.moderation === undefined ? {} : { moderation: checkModerator('moderation', options.moderation) }),
  };
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (options.apiKey !== undefined) {
      const header = req.headers.authorization ?? '';
      if (!header.startsWith('Bearer ') || !sameSecret(header.slice(7), options.apiKey)) {
        throw new ApiError(401, 'missing or incorrect API key (send Authorization: Bearer <key>)', 'invalid_request_error', null, 'invalid_api_key');
      }
    }
    if (path === '/v1/chat/completions') {
      if (req.method !== 'POST') throw new ApiError(405, `${req.method ?? ''} ${path}: use POST`);
      const request = parseChatRequest(await readJsonBody(req, o.maxBodyBytes), o.model, o.maxChoices);
      await handleCompletion(ctx, request, res);
      return;
    }
    if (path === '/v1/moderations' && ctx.moderation !== undefined) {
      if (req.method !== 'POST') throw new ApiError(405, `${req.method ?? ''} ${path}: use POST`);
      return handleModerations(ctx.moderation, await readJsonBody(req, o.maxBodyBytes), o.model, res, logger);
    }
    if (path === '/v1/models' && req.method === 'GET') return sendJson(res, 200, { object: 'list', data: [modelCard(o.model, created)] });
    if (path === `/v1/models/${o.model}` && req.method === 'GET') return sendJson(res, 200, modelCard(o.model, created));
    throw new ApiError(404, `${req.method ?? ''} ${path} is not served (try POST /v1/chat/completions or GET /v1/models)`, 'invalid_request_error', null, 'not_found');
  };
  const { server, port, url } = await listenLocal(o.address, (req, res) => {
    route(req, res).catch((e: unknown) => {
      const err = e instanceof ApiError ? e : new ApiError(500, 'internal error while generating', 'server_error');
      if (!(e instanceof ApiError)) logger.log('error', 'servePolicy request failed', { error: e instanceof Error ? e.message : 'non-Error thrown' });
      if (res.headersSent) res.end();
      else sendError(res, err);
    });
  }, sendError, logger, 'servePolicy');
  logger.log('info', 'servePolicy listening', { url, model: o.model });
  return {
    url,
    port,
    model: o.model,
    close: () => new Promise<void>((resolve, reject) => {
      server.close((e) => (e ? reject(e) : resolve()));
      server.closeAllConnections();
    }),
  };
}
