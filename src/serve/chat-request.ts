/**
 * Validation of an OpenAI Chat Completions request body into the few settings the policy server
 * honours. Every refusal is an {@link ApiError} naming the field, as the OpenAI API does.
 * @internal
 * @module
 */
import type { ChatMessage } from '../data/types';
import { previewValue } from '../errors';
import { ApiError } from '../http/local-server';

/** A validated chat-completions request. */
export interface ChatRequest {
  /** The conversation, `developer` turns mapped to `system`. */
  messages: ChatMessage[];
  /** `max_completion_tokens` or `max_tokens`, when given. */
  maxTokens: number | undefined;
  /** Sampling temperature in [0, 2]; 0 is greedy. */
  temperature: number;
  /** Nucleus mass in (0, 1]. */
  topP: number;
  /** Stop strings (at most 4). */
  stop: string[];
  /** Reply as server-sent events. */
  stream: boolean;
  /** Send a final usage chunk when streaming (`stream_options.include_usage`). */
  includeUsage: boolean;
  /** Seed of this request, when given. */
  seed: number | undefined;
  /** Number of choices. */
  n: number;
}

/** Accepted roles (a Map, so `"constructor"` or `"__proto__"` never reach `Object.prototype`). */
const ROLES: ReadonlyMap<string, ChatMessage['role']> = new Map([['system', 'system'], ['developer', 'system'], ['user', 'user'], ['assistant', 'assistant']]);

function bad(param: string, message: string): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param);
}

function messageContent(content: unknown, where: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) throw bad(`${where}.content`, `${where}.content must be a string or an array of text parts`);
  return content.map((part: unknown, j) => {
    const p = part as { type?: unknown; text?: unknown } | null;
    if (typeof p !== 'object' || p === null || p.type !== 'text' || typeof p.text !== 'string') {
      throw bad(`${where}.content[${j}]`, `${where}.content[${j}] must be a text part { "type": "text", "text": string }; this model reads text only`);
    }
    return p.text;
  }).join('');
}

function parseMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw bad('messages', 'messages must be a non-empty array of { role, content }');
  return value.map((m: unknown, i) => {
    const where = `messages[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw bad(where, `${where} must be an object { role, content }`);
    const { role, content } = m as { role?: unknown; content?: unknown };
    const mapped = typeof role === 'string' ? ROLES.get(role) : undefined;
    if (mapped === undefined) throw bad(`${where}.role`, `${where}.role = ${previewValue(role)} is not supported; use "system", "developer", "user" or "assistant"`);
    return { role: mapped, content: messageContent(content, where) };
  });
}

function optionalInteger(body: Record<string, unknown>, key: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw bad(key, `${key} = ${previewValue(v)} must be an integer in [${min}, ${max}]`);
  }
  return v;
}

function optionalNumber(body: Record<string, unknown>, key: string, ok: (v: number) => boolean, range: string, fallback: number): number {
  const v = body[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw bad(key, `${key} = ${previewValue(v)} must be a number in ${range}`);
  return v;
}

function parseStop(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length > 4 || !list.every((s) => typeof s === 'string' && s !== '')) {
    throw bad('stop', 'stop must be a non-empty string or an array of at most 4 non-empty strings');
  }
  return list as string[];
}

function refuseUnsupported(body: Record<string, unknown>): void {
  if (body.logprobs === true) throw bad('logprobs', 'logprobs are not supported by this server');
  if (Array.isArray(body.tools) && body.tools.length > 0) throw bad('tools', 'tools are not supported by this server');
  if (body.functions !== undefined && body.functions !== null) throw bad('functions', 'functions are not supported by this server');
  const format = body.response_format as { type?: unknown } | undefined | null;
  if (format !== undefined && format !== null && format.type !== 'text') {
    throw bad('response_format', 'only response_format { "type": "text" } is supported by this server');
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') throw bad('stream', 'stream must be a boolean');
}

/**
 * Validates a parsed request body.
 * @param body - The parsed JSON.
 * @param model - The model name this server answers to (other names get a 404).
 * @param maxN - Largest accepted `n`.
 * @throws {@link ApiError} naming the offending field.
 */
export function parseChatRequest(body: unknown, model: string, maxN: number): ChatRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('', 'request body must be a JSON object');
  const b = body as Record<string, unknown>;
  if (typeof b.model !== 'string') throw bad('model', `model = ${previewValue(b.model)} must be a string (this server serves ${JSON.stringify(model)})`);
  if (b.model !== model) {
    throw new ApiError(404, `The model ${previewValue(b.model)} does not exist; this server serves ${JSON.stringify(model)}`, 'invalid_request_error', 'model', 'model_not_found');
  }
  refuseUnsupported(b);
  const options = b.stream_options as { include_usage?: unknown } | undefined | null;
  return {
    messages: parseMessages(b.messages),
    maxTokens: optionalInteger(b, 'max_completion_tokens', 1) ?? optionalInteger(b, 'max_tokens', 1),
    temperature: optionalNumber(b, 'temperature', (v) => v >= 0 && v <= 2, '[0, 2]', 1),
    topP: optionalNumber(b, 'top_p', (v) => v > 0 && v <= 1, '(0, 1]', 1),
    stop: parseStop(b.stop),
    stream: b.stream === true,
    includeUsage: typeof options === 'object' && options !== null && options.include_usage === true,
    seed: optionalInteger(b, 'seed', Number.MIN_SAFE_INTEGER),
    n: optionalInteger(b, 'n', 1, maxN) ?? 1,
  };
}
