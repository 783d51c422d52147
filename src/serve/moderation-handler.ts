/**
 * The moderation parts of {@link servePolicy}: refusing a flagged chat request with
 * `finish_reason: "content_filter"` (no generation), and the `POST /v1/moderations` endpoint.
 * @internal
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { ChatMessage } from '../data/types';
import type { Logger } from '../logging/logger';
import { flaggedCategories, moderate, type Moderator, type ModerationResult } from '../moderation/types';
import { ApiError, sendJson } from '../http/local-server';
import type { ChatRequest } from './chat-request';

/** Most texts in one `/v1/moderations` request. */
const MAX_INPUTS = 32;

/** The verdict on the last user message of a conversation (none: not flagged). */
export async function moderateConversation(moderator: Moderator, messages: readonly ChatMessage[]): Promise<ModerationResult | undefined> {
  const last = [...messages].reverse().find((m) => m.role === 'user');
  if (last === undefined) return undefined;
  const r = await moderate(moderator, last.content);
  return r.flagged ? r : undefined;
}

/** Answers a flagged request: every choice an empty assistant message ending in `content_filter`; logs a `warn` record. */
export function refuseFlagged(r: ChatRequest, res: ServerResponse, model: string, id: string, verdict: ModerationResult, logger: Logger): void {
  const created = Math.floor(Date.now() / 1000);
  const choices = Array.from({ length: r.n }, (_, index) => index);
  const usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  if (r.stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const send = (c: unknown[], extra: Record<string, unknown> = {}): boolean => res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: c, ...extra })}\n\n`);
    for (const index of choices) {
      send([{ index, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
      send([{ index, delta: {}, finish_reason: 'content_filter' }]);
    }
    if (r.includeUsage) send([], { usage });
    res.end('data: [DONE]\n\n');
  } else {
    sendJson(res, 200, {
      id, object: 'chat.completion', created, model,
      choices: choices.map((index) => ({ index, message: { role: 'assistant', content: '' }, logprobs: null, finish_reason: 'content_filter' })),
      usage,
    });
  }
  logger.log('warn', 'chat completion refused by moderation', { id, stream: r.stream, categories: flaggedCategories(verdict) });
}

/** `POST /v1/moderations`: `{ input: string | string[], model? }` -> `{ id, model, results: [{ flagged, categories, category_scores }] }`. */
export async function handleModerations(moderator: Moderator, body: unknown, model: string, res: ServerResponse, logger: Logger): Promise<void> {
  const input = (body as { input?: unknown } | null)?.input;
  const texts = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(texts) || texts.length === 0 || texts.length > MAX_INPUTS || !texts.every((t) => typeof t === 'string')) {
    throw new ApiError(400, `input must be a string or an array of 1 to ${MAX_INPUTS} strings`, 'invalid_request_error', 'input');
  }
  const results = [];
  for (const t of texts as string[]) {
    const r = await moderate(moderator, t);
    results.push({ flagged: r.flagged, categories: r.categories, category_scores: r.categoryScores ?? Object.fromEntries(Object.entries(r.categories).map(([k, v]) => [k, v ? 1 : 0])) });
  }
  const id = `modr-${Date.now().toString(36)}${Math.floor(Math.random() * 1e9).toString(36)}`;
  sendJson(res, 200, { id, model, results });
  logger.log('info', 'moderation', { id, inputs: results.length, flagged: results.filter((r) => r.flagged).length });
}
