/**
 * The `POST /v1/chat/completions` handler of {@link servePolicy}: renders the conversation with the
 * chat template, runs the completions (queued, one request at a time) and writes either one
 * `chat.completion` object or a stream of `chat.completion.chunk` server-sent events.
 * @internal
 * @module
 */
import type { ServerResponse } from 'node:http';
import { tokenizeChatPrompt } from '../data/chat-template';
import type { Logger } from '../logging/logger';
import type { TransformerPolicy } from '../models/policy';
import type { Tokenizer } from '../tokenizers/tokenizer';
import type { ChatRequest } from './chat-request';
import { complete, type CompletionResult } from './completion';
import { ApiError, sendJson } from '../http/local-server';
import type { SerialQueue } from './queue';
import type { Moderator } from '../moderation/types';
import { moderateConversation, refuseFlagged } from './moderation-handler';

/** What the handler needs from the server. */
export interface CompletionContext {
  /** The model. */
  policy: TransformerPolicy;
  /** Its tokenizer. */
  tokenizer: Tokenizer;
  /** The served model name. */
  model: string;
  /** Default reply length. */
  maxNewTokens: number;
  /** Tokens per generation chunk. */
  chunkTokens: number;
  /** Where records go. */
  logger: Logger;
  /** Draws a seed from the server's stream (`undefined`: use the policy's own stream). */
  drawSeed: () => number | undefined;
  /** One request at a time. */
  queue: SerialQueue;
  /** Checks the last user message before generating; absent: no check. */
  moderation?: Moderator;
}

let counter = 0;

function completionId(): string {
  counter = (counter + 1) % 1e9;
  return `chatcmpl-${Date.now().toString(36)}${counter.toString(36)}`;
}

/** Prompt ids and the reply length, or a 400 when the context is too short. */
function plan(ctx: CompletionContext, r: ChatRequest): { promptIds: number[]; maxTokens: number } {
  const promptIds = tokenizeChatPrompt(r.messages, ctx.tokenizer);
  const room = ctx.policy.config.contextLength - promptIds.length;
  if (room < 1) {
    throw new ApiError(400, `the conversation is ${promptIds.length} tokens; this model's context is ${ctx.policy.config.contextLength} tokens`,
      'invalid_request_error', 'messages', 'context_length_exceeded');
  }
  if (r.maxTokens !== undefined && r.maxTokens > room) {
    throw new ApiError(400, `max_tokens = ${r.maxTokens} plus the conversation's ${promptIds.length} tokens exceeds this model's context of ${ctx.policy.config.contextLength} tokens`,
      'invalid_request_error', 'max_tokens', 'context_length_exceeded');
  }
  return { promptIds, maxTokens: r.maxTokens ?? Math.min(ctx.maxNewTokens, room) };
}

/** A seed source for one choice: the request's seed (offset by the choice index) or the server's stream. */
function seedSource(ctx: CompletionContext, r: ChatRequest, choice: number): () => number | undefined {
  if (r.seed === undefined) return ctx.drawSeed;
  let s = (r.seed + choice * 0x9e3779b9) >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s;
  };
}

function usage(promptTokens: number, results: CompletionResult[]) {
  const completion = results.reduce((a, x) => a + x.completionTokens, 0);
  return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
}

async function stream(ctx: CompletionContext, r: ChatRequest, res: ServerResponse, promptIds: number[], maxTokens: number): Promise<void> {
  const id = completionId();
  const created = Math.floor(Date.now() / 1000);
  let gone = false;
  res.on('close', () => {
    gone = !res.writableFinished;
  });
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const send = (choices: unknown[], extra: Record<string, unknown> = {}): void => {
    if (!gone) res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: ctx.model, choices, ...extra })}\n\n`);
  };
  const results: CompletionResult[] = [];
  for (let index = 0; index < r.n && !gone; index++) {
    send([{ index, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
    const result = await complete(ctx.policy, ctx.tokenizer, {
      promptIds, maxTokens, temperature: r.temperature, topP: r.topP, stop: r.stop, nextSeed: seedSource(ctx, r, index),
      chunkTokens: ctx.chunkTokens, cancelled: () => gone,
      onDelta: (content) => send([{ index, delta: { content }, finish_reason: null }]),
    });
    results.push(result);
    send([{ index, delta: {}, finish_reason: result.finishReason }]);
  }
  if (r.includeUsage) send([], { usage: usage(promptIds.length, results) });
  if (!gone) res.end('data: [DONE]\n\n');
  ctx.logger.log('info', 'chat completion', { id, stream: true, ...usage(promptIds.length, results), cancelled: gone });
}

async function whole(ctx: CompletionContext, r: ChatRequest, res: ServerResponse, promptIds: number[], maxTokens: number): Promise<void> {
  const results: CompletionResult[] = [];
  for (let index = 0; index < r.n; index++) {
    results.push(await complete(ctx.policy, ctx.tokenizer, {
      promptIds, maxTokens, temperature: r.temperature, topP: r.topP, stop: r.stop, nextSeed: seedSource(ctx, r, index),
      chunkTokens: ctx.chunkTokens, cancelled: () => res.destroyed,
    }));
  }
  const body = {
    id: completionId(),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: ctx.model,
    choices: results.map((x, index) => ({ index, message: { role: 'assistant', content: x.text }, logprobs: null, finish_reason: x.finishReason })),
    usage: usage(promptIds.length, results),
  };
  sendJson(res, 200, body);
  ctx.logger.log('info', 'chat completion', { id: body.id, stream: false, ...body.usage });
}

/** Answers one validated request (queued behind the requests before it). */
export async function handleCompletion(ctx: CompletionContext, r: ChatRequest, res: ServerResponse): Promise<void> {
  const verdict = ctx.moderation === undefined ? undefined : await moderateConversation(ctx.moderation, r.messages);
  if (verdict !== undefined) return refuseFlagged(r, res, ctx.model, completionId(), verdict, ctx.logger);
  const { promptIds, maxTokens } = plan(ctx, r);
  await ctx.queue.run(async () => {
    if (res.destroyed) return;
    if (r.stream) await stream(ctx, r, res, promptIds, maxTokens);
    else await whole(ctx, r, res, promptIds, maxTokens);
  });
}
