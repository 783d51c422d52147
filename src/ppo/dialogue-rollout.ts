/**
 * Stage 1 of PPO for multi-turn dialogue: each conversation alternates assistant turns sampled from
 * the policy and user turns from the dataset's script or a user simulator, up to `maxTurns` assistant
 * turns. Each assistant turn is one `policy.generate` call (with the KV cache inside the turn) on the
 * conversation so far, for the rows still talking; the prefix is encoded afresh each turn. The result
 * is an ordinary {@link Rollout}: the prompt is the opening messages, the "response" is everything
 * after them, and the user-turn tokens inside it have mask 0, so the policy loss, the KL and the value
 * loss see only assistant tokens (the mask tool-written tokens already use).
 * @module
 */
import { InputError } from '../errors';
import type { Rng } from '../ops/random';
import { promptResponseBatch } from '../models/batch';
import type { TransformerPolicy } from '../models/policy';
import type { Tokenizer } from '../tokenizers/tokenizer';
import type { Rollout, RolloutOptions } from './rollout';
import { addAssistantTurn, addUserTurn, startConversation, toDialogueSample, type ConversationState, type DialogueRolloutInfo } from '../dialogue/conversation';
import type { DialoguePrompt, ResolvedDialogueOptions } from '../dialogue/options';

/** Samples one assistant turn for the rows `live` (one generate call) and appends it. */
async function assistantTurn(policy: TransformerPolicy, convs: ConversationState[], live: number[], tokenizer: Tokenizer, o: RolloutOptions, rng: Rng): Promise<void> {
  const tools = o.tools ?? [];
  const out = await policy.generate(live.map((b) => [...convs[b]!.promptIds, ...convs[b]!.ids]), {
    maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, stopTokens: o.stopTokens,
    seed: rng.nextUint32(),
    ...(tools.length > 0 && { tools, maxToolCalls: o.maxToolCalls ?? 4, tokenizer }),
  });
  const stops = new Set(o.stopTokens);
  live.forEach((b, i) => {
    const c = convs[b] as ConversationState;
    addAssistantTurn(c, {
      tokens: out.tokens[i] as number[], ...(out.fromTool && { fromTool: out.fromTool[i] as boolean[] }),
      toolCalls: out.toolCalls?.[i] ?? 0, toolErrors: out.toolErrors?.[i] ?? 0,
    }, stops, tokenizer);
    if (!c.hitStop) c.active = false; // a reply cut off at maxNewTokens ends its conversation
  });
}

/** The next user turn of row `b`: the script's, else the simulator's, else `null`. */
async function nextUserTurn(c: ConversationState, b: number, turn: number, d: ResolvedDialogueOptions): Promise<string | null> {
  const scripted = c.userTurns[turn - 1];
  if (scripted !== undefined) return scripted;
  if (d.userSimulator === undefined) return null;
  const text: unknown = await d.userSimulator(c.messages.map((m) => ({ ...m })), { row: b, turn });
  if (text !== null && typeof text !== 'string') throw new InputError('dialogue.userSimulator(conversation)', text, 'must return a string, or null to end the conversation');
  return text;
}

/** Appends the next user turn of every live row (simulator calls run concurrently); `null` ends a row. */
async function userTurns(convs: ConversationState[], live: number[], turn: number, d: ResolvedDialogueOptions, tokenizer: Tokenizer, maxNewTokens: number, contextLength: number): Promise<void> {
  const rows = live.filter((b) => convs[b]!.active);
  const texts = await Promise.all(rows.map((b) => nextUserTurn(convs[b] as ConversationState, b, turn, d)));
  rows.forEach((b, i) => {
    const c = convs[b] as ConversationState;
    const text = texts[i];
    if (text === null || text === undefined) c.active = false;
    else addUserTurn(c, text, tokenizer, maxNewTokens, contextLength);
  });
}

/** The conversations as a {@link Rollout} with its {@link DialogueRolloutInfo}. */
function toRollout(convs: ConversationState[], tokenizer: Tokenizer, policy: TransformerPolicy): Rollout & { dialogue: DialogueRolloutInfo } {
  const promptIds = convs.map((c) => c.promptIds);
  const responseIds = convs.map((c) => c.ids);
  const batch = promptResponseBatch(promptIds, responseIds, tokenizer.padId < policy.config.vocabSize ? tokenizer.padId : 0);
  const R = batch.responseLength;
  const responseMask = new Float32Array(batch.batch * R);
  convs.forEach((c, b) => responseMask.set(c.mask, b * R));
  return {
    prompts: convs.map((c) => c.prompt), promptIds, responseIds, hitStop: convs.map((c) => c.hitStop), batch,
    responseStart: batch.responseStart, responseLength: R, responseMask,
    toolCalls: convs.map((c) => c.toolCalls), toolErrors: convs.map((c) => c.toolErrors),
    dialogue: { messages: convs.map((c) => c.messages), turns: convs.map((c) => c.turns), userTokens: convs.map((c) => c.userTokens) },
  };
}

/**
 * Rolls out one conversation per prompt: up to `d.maxTurns` assistant turns of up to `o.maxNewTokens`
 * tokens each, with a user turn between two assistant turns. A conversation ends when its user turn is
 * `null` (or the script ends and there is no simulator), when a reply hits no stop token, when the
 * next user turn and reply would not fit in the context, or after `maxTurns` replies; so it always ends
 * with an assistant turn. Deterministic for the state of `rng` (one draw per turn).
 * @throws {@link InputError} naming the bad prompt, or a simulator result that is not a string or null.
 */
export async function dialogueRollout(
  policy: TransformerPolicy,
  prompts: readonly DialoguePrompt[],
  tokenizer: Tokenizer,
  o: RolloutOptions,
  d: ResolvedDialogueOptions,
  rng: Rng,
): Promise<Rollout & { dialogue: DialogueRolloutInfo }> {
  if (!Array.isArray(prompts) || prompts.length === 0) throw new InputError('prompts', prompts, 'must be a non-empty array of conversations');
  const ctx = policy.config.contextLength;
  const convs = prompts.map((p, i) => {
    const c = startConversation(toDialogueSample(p, i), tokenizer);
    if (c.promptIds.length + o.maxNewTokens > ctx) throw new InputError(`prompts[${i}]`, `${c.promptIds.length} tokens`, `plus maxNewTokens = ${o.maxNewTokens} exceeds contextLength = ${ctx}`);
    return c;
  });
  for (let turn = 1; turn <= d.maxTurns; turn++) {
    const live = convs.flatMap((c, b) => (c.active ? [b] : []));
    if (live.length === 0) break;
    await assistantTurn(policy, convs, live, tokenizer, o, rng);
    if (turn < d.maxTurns) await userTurns(convs, live, turn, d, tokenizer, o.maxNewTokens, ctx);
  }
  return toRollout(convs, tokenizer, policy);
}
