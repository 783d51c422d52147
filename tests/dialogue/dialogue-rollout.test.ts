import { beforeAll, describe, expect, it } from 'vitest';
import { tokenizeChat } from '../../src/data/chat-template';
import { dialogueRollout } from '../../src/ppo/dialogue-rollout';
import { dialogueSampleFromChat } from '../../src/dialogue/conversation';
import { resolveDialogueOptions, type DialoguePrompt } from '../../src/dialogue/options';
import { Rng } from '../../src/ops/random';
import { InputError } from '../../src/errors';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';
import { chattyPolicy, recordingSimulator, sampling, tok } from './helpers';

beforeAll(setupBackend);

const prompts: DialoguePrompt[] = [
  'hi',
  [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello' }],
  { messages: [{ role: 'user', content: 'a' }], userTurns: ['scripted'] },
  'ok',
];

describe('dialogue rollout', () => {
  it('renders conversations with the SFT chat template; the mask is 1 exactly on assistant tokens', async () => {
    const policy = chattyPolicy();
    const { sim } = recordingSimulator();
    const ro = await dialogueRollout(policy, prompts, tok, sampling, resolveDialogueOptions({ userSimulator: sim, maxTurns: 3 }), new Rng(7));
    const R = ro.responseLength;
    let checked = 0;
    ro.dialogue.messages.forEach((messages, b) => {
      const full = tokenizeChat(messages, tok); // what SFT trains on for this conversation
      const P = ro.promptIds[b]!.length;
      const ids = [...ro.promptIds[b]!, ...ro.responseIds[b]!];
      const mask = Array.from(ro.responseMask.subarray(b * R, b * R + ro.responseIds[b]!.length));
      if (ro.hitStop[b]) {
        expect(ids).toEqual(full.ids);
        expect(mask).toEqual(full.lossMask.slice(P)); // 0 on every user-turn token, 1 on assistant content and EOS
        checked++;
      } else {
        expect(ids).toEqual(full.ids.slice(0, -1)); // the last reply was cut off: no EOS
        expect(mask).toEqual(full.lossMask.slice(P, -1));
      }
      expect(full.lossMask.slice(0, P).every((m) => m === 0)).toBe(true);
      expect(Array.from(ro.responseMask.subarray(b * R + ro.responseIds[b]!.length, (b + 1) * R)).every((m) => m === 0)).toBe(true);
      const userTokens = mask.filter((m) => m === 0).length;
      expect(ro.dialogue.userTokens[b]).toBe(userTokens);
      expect(userTokens > 0).toBe(ro.dialogue.turns[b]!.length > 1);
    });
    expect(checked).toBeGreaterThanOrEqual(2);
    expect(ro.dialogue.turns.some((t) => t.length >= 2)).toBe(true);
    policy.dispose();
  });

  it('calls the simulator with the conversation so far; scripted turns come first; null ends a conversation early', async () => {
    const policy = chattyPolicy();
    const { sim, calls } = recordingSimulator((_c, x) => (x.row === 3 ? null : `u${x.row}.${x.turn}`));
    const ro = await dialogueRollout(policy, prompts, tok, sampling, resolveDialogueOptions({ userSimulator: sim, maxTurns: 3 }), new Rng(7));
    expect(calls.length).toBeGreaterThan(0);
    for (const { conversation, context } of calls) {
      const final = ro.dialogue.messages[context.row]!;
      expect(conversation).toEqual(final.slice(0, conversation.length)); // a prefix of the final conversation
      expect(conversation[conversation.length - 1]!.role).toBe('assistant'); // ends with the reply just written
      expect(conversation.filter((m) => m.role === 'assistant').length).toBe(context.turn);
      const [start, end] = ro.dialogue.turns[context.row]![context.turn - 1]!;
      const reply = ro.responseIds[context.row]!.slice(start, end - 1); // the turn without its EOS
      expect(conversation[conversation.length - 1]!.content).toBe(tok.decode(reply));
    }
    expect(calls.some((c) => c.context.row === 2 && c.context.turn === 1)).toBe(false); // row 2 used its script for turn 1
    if (ro.dialogue.turns[2]!.length >= 2) expect(ro.dialogue.messages[2]![2]).toEqual({ role: 'user', content: 'scripted' });
    // row 3: the simulator answered null after the first reply
    expect(ro.dialogue.turns[3]!.length).toBe(1);
    expect(ro.dialogue.userTokens[3]).toBe(0);
    expect(ro.dialogue.messages[3]!.map((m) => m.role)).toEqual(['user', 'assistant']);
    policy.dispose();
  });

  it('batches rows with different numbers of turns: padding and user turns are masked, turns never overlap', async () => {
    const policy = chattyPolicy();
    const { sim } = recordingSimulator((_c, x) => (x.turn >= x.row + 1 ? null : `next ${x.turn}`));
    const ro = await dialogueRollout(policy, ['w', 'x', 'y'], tok, sampling, resolveDialogueOptions({ userSimulator: sim, maxTurns: 3 }), new Rng(11));
    const R = ro.responseLength;
    const lengths = ro.dialogue.turns.map((t) => t.length);
    lengths.forEach((n, b) => expect(n).toBeLessThanOrEqual(b + 1)); // row b stops after b + 1 replies at most
    expect(new Set(lengths).size).toBeGreaterThan(1);
    expect(R).toBe(Math.max(...ro.responseIds.map((r) => r.length)));
    ro.dialogue.turns.forEach((turns, b) => {
      const mask = ro.responseMask.subarray(b * R, (b + 1) * R);
      const inTurn = new Array<boolean>(R).fill(false);
      turns.forEach(([s, e], k) => {
        if (k > 0) expect(s).toBeGreaterThan(turns[k - 1]![1]); // a user turn between two replies
        for (let t = s; t < e; t++) inTurn[t] = true;
      });
      inTurn.forEach((inside, t) => expect(mask[t]).toBe(inside ? 1 : 0));
      expect(turns[turns.length - 1]![1]).toBe(ro.responseIds[b]!.length); // ends with an assistant turn
    });
    policy.dispose();
  });

  it('is deterministic for the rng state and leaves no tensors', async () => {
    const policy = chattyPolicy();
    const run = () => dialogueRollout(policy, prompts, tok, sampling, resolveDialogueOptions({ userSimulator: recordingSimulator().sim }), new Rng(5));
    await run();
    const a = await expectNoLeaks(run);
    const b = await run();
    expect(b.responseIds).toEqual(a.responseIds);
    expect(b.dialogue).toEqual(a.dialogue);
    expect(Array.from(b.responseMask)).toEqual(Array.from(a.responseMask));
    policy.dispose();
  });

  it('ends a conversation whose next turn would not fit; rejects bad prompts and bad simulator results', async () => {
    const policy = chattyPolicy();
    const d = resolveDialogueOptions({ userSimulator: () => 'x'.repeat(130), maxTurns: 3 });
    const ro = await dialogueRollout(policy, ['hi'], tok, sampling, d, new Rng(1));
    expect(ro.dialogue.turns[0]!.length).toBe(1);
    expect(ro.promptIds[0]!.length + ro.responseIds[0]!.length).toBeLessThanOrEqual(policy.config.contextLength);
    const r = new Rng(1);
    const dd = resolveDialogueOptions({});
    await expect(dialogueRollout(policy, [[{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }]], tok, sampling, dd, r)).rejects.toThrow(/prompts\[0\].*assistant/);
    await expect(dialogueRollout(policy, ['a', [{ role: 'robot' as 'user', content: 'a' }]], tok, sampling, dd, r)).rejects.toThrow(/prompts\[1\]\[0\]\.role/);
    await expect(dialogueRollout(policy, [{ messages: [{ role: 'user', content: 'a' }], userTurns: [3 as unknown as string] }], tok, sampling, dd, r)).rejects.toThrow(/prompts\[0\]\.userTurns/);
    await expect(dialogueRollout(policy, [[]], tok, sampling, dd, r)).rejects.toThrow(InputError);
    await expect(dialogueRollout(policy, ['x'.repeat(200)], tok, sampling, dd, r)).rejects.toThrow(/contextLength/);
    const bad = resolveDialogueOptions({ userSimulator: (() => 42) as never });
    // Rng 7's first reply to 'hi' ends with EOS (see the template test), so the simulator is called.
    await expect(dialogueRollout(policy, ['hi', 'ok'], tok, sampling, bad, new Rng(7))).rejects.toThrow(/userSimulator.*string, or null/);
    policy.dispose();
  });

  it('dialogueSampleFromChat keeps the opening messages and scripts the later user turns', () => {
    const s = dialogueSampleFromChat([
      { role: 'system', content: 's' }, { role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1' },
      { role: 'user', content: 'q2' }, { role: 'assistant', content: 'a2' }, { role: 'user', content: 'q3' },
    ]);
    expect(s).toEqual({ messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'q1' }], userTurns: ['q2', 'q3'] });
    expect(() => dialogueSampleFromChat([{ role: 'assistant', content: 'a' }])).toThrow(InputError);
    expect(() => dialogueSampleFromChat([{ role: 'user', content: 3 as unknown as string }])).toThrow(/messages\[0\]\.content/);
  });
});
