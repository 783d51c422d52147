/**
 * One call to an OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp server,
 * Ollama, or {@link servePolicy}) that returns the answer text or throws {@link JudgeError}.
 * @module
 */
import type { ChatMessage } from '../../data/types';
import { JudgeError } from './judge-error';

/** An OpenAI-compatible chat-completions endpoint used as a judge. */
export interface JudgeEndpoint {
  /** Base URL up to and including `/v1`, e.g. `"http://localhost:11434/v1"`; `/chat/completions` is appended. Required. */
  baseUrl: string;
  /** Model name sent with each request. Required. */
  model: string;
  /** Sent as `Authorization: Bearer <apiKey>` when set. Default: none. */
  apiKey?: string;
  /** Sampling temperature. Default `0` (the most likely answer, for reproducible judgements). */
  temperature?: number;
  /** `max_tokens` of the answer. Default: not sent (the server's default). */
  maxTokens?: number;
  /** Give up on a request after this many milliseconds. Default `60000`. */
  timeoutMs?: number;
  /** The `fetch` to use (tests, proxies). Default: `globalThis.fetch`. */
  fetch?: typeof fetch;
}

/** Identifies the call for error messages. */
interface CallSite {
  judge: string;
  itemId: string;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The answer text of a chat-completions response body, or a {@link JudgeError} carrying the body. */
function answerText(body: string, site: CallSite): string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new JudgeError(site.judge, site.itemId, 'the endpoint did not answer with JSON', body);
  }
  const content = (json as { choices?: { message?: { content?: unknown } }[] } | null)?.choices?.[0]?.message?.content;
  if (typeof content !== 'string') throw new JudgeError(site.judge, site.itemId, 'the endpoint answer has no choices[0].message.content string', body);
  return content;
}

/**
 * Sends the judge conversation and returns the answer text.
 * @throws {@link JudgeError} on an HTTP error, a timeout, a network failure or a body that is not a
 *   chat completion; rethrows the caller's abort reason when `signal` aborts.
 */
export async function callEndpoint(endpoint: JudgeEndpoint, messages: ChatMessage[], site: CallSite, signal?: AbortSignal): Promise<string> {
  signal?.throwIfAborted();
  const controller = new AbortController();
  let timedOut = false;
  const timeoutMs = endpoint.timeoutMs ?? 60_000;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onAbort = (): void => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const body: Record<string, unknown> = { model: endpoint.model, messages, temperature: endpoint.temperature ?? 0, stream: false };
  if (endpoint.maxTokens !== undefined) body.max_tokens = endpoint.maxTokens;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (endpoint.apiKey !== undefined) headers.authorization = `Bearer ${endpoint.apiKey}`;
  let status: number;
  let text: string;
  try {
    const res = await (endpoint.fetch ?? fetch)(`${endpoint.baseUrl.replace(/\/+$/, '')}/chat/completions`, {
      method: 'POST', headers, body: JSON.stringify(body), signal: controller.signal,
    });
    status = res.status;
    text = await res.text();
  } catch (e) {
    signal?.throwIfAborted();
    if (timedOut) throw new JudgeError(site.judge, site.itemId, `no answer within timeoutMs = ${timeoutMs}`, undefined, e);
    throw new JudgeError(site.judge, site.itemId, `request failed: ${messageOf(e)}`, undefined, e);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  if (status < 200 || status >= 300) throw new JudgeError(site.judge, site.itemId, `HTTP ${status}`, text);
  return answerText(text, site);
}
