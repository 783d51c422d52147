import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { TransformerPolicy } from '../../src/models/policy';
import { RewardModel } from '../../src/reward/reward-model';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { chatPrompt, tokenizeChatPrompt } from '../../src/data/chat-template';
import { readAll, readRankings } from '../../src/data/jsonl';
import type { ChatMessage } from '../../src/data/types';
import { InputError } from '../../src/errors';
import { PreferenceCollector, promptId } from '../../src/feedback/collect/collector';
import { checkRequest } from '../../src/feedback/check-judgement';
import { judgeMessages, DEFAULT_PRINCIPLES } from '../../src/feedback/judges/judge-prompt';
import { JudgeLabeler } from '../../src/feedback/judges/judge-labeler';
import { TerminalLabeler } from '../../src/feedback/labelers/terminal-labeler';
import { WebLabeler } from '../../src/feedback/labelers/web-labeler';
import { labelPage } from '../../src/feedback/labelers/web-page';
import type { Judgement, Labeler, LabelRequest } from '../../src/feedback/types';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';
import { launchChromium } from '../helpers/chromium';

const tok = new ByteTokenizer();
let dir: string;
beforeAll(async () => {
  await setupBackend();
  dir = mkdtempSync(join(tmpdir(), 'conv-label-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const conversation: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'First question <script>window.__pwned=1</script>' },
  { role: 'assistant', content: 'First answer \u202Egnp.exe' },
  { role: 'user', content: 'Second question?' },
];

const request = (extra: Partial<LabelRequest> = {}): LabelRequest => ({
  id: 'c1', prompt: chatPrompt(conversation), messages: conversation, responses: ['Reply one.', 'Reply two, longer.'], ...extra,
});

describe('judgeMessages with a conversation', () => {
  it('shows every turn with its role, in order, before the candidates; the plain prompt form is unchanged', () => {
    const [system, user] = judgeMessages('ignored', ['A', 'B'], DEFAULT_PRINCIPLES, false, [], conversation);
    expect(system?.role).toBe('system');
    const text = user?.content as string;
    const at = (s: string): number => text.indexOf(s);
    const turns = conversation.map((m, i) => `Turn ${i + 1} (${m.role}):\n<<<\n${m.content}\n>>>`);
    turns.forEach((t) => expect(text).toContain(t));
    expect(turns.map(at)).toEqual([...turns.map(at)].sort((a, b) => a - b));
    expect(at(turns[3] as string)).toBeLessThan(at('Response 1:\n<<<\nA\n>>>'));
    expect(at('Response 1:')).toBeLessThan(at('Response 2:'));
    expect(text).toContain("candidate responses for the assistant's next turn");
    expect(text).not.toContain('Prompt:');
    expect(text).toContain('RANKING:');
    const plain = judgeMessages('The prompt', ['A', 'B'], DEFAULT_PRINCIPLES, false)[1]?.content as string;
    expect(plain).toContain('Prompt:\n<<<\nThe prompt\n>>>');
    expect(plain).not.toContain('Turn 1');
    expect(judgeMessages('The prompt', ['A', 'B'], DEFAULT_PRINCIPLES, false, [], [])[1]?.content).toBe(plain);
  });

  it('bounds the length: a long turn keeps its start and end, a long conversation its first and last turns', () => {
    const long = `${'a'.repeat(5000)}${'b'.repeat(5000)}`;
    const text = judgeMessages('p', ['A', 'B'], ['x'], false, [], [{ role: 'user', content: long }])[1]?.content as string;
    expect(text.length).toBeLessThan(3000);
    expect(text).toContain(`<<<\n${'a'.repeat(1000)}\n[... 8000 characters omitted ...]\n${'b'.repeat(1000)}\n>>>`);
    const many: ChatMessage[] = Array.from({ length: 45 }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: `turn-${i + 1}` }));
    const t2 = judgeMessages('p', ['A', 'B'], ['x'], false, [], many)[1]?.content as string;
    expect(t2).toContain('Conversation so far (45 turns, oldest first)');
    expect(t2).toContain('Turn 1 (user):\n<<<\nturn-1\n>>>');
    expect(t2).toContain('[... turns 2 to 26 omitted ...]');
    expect(t2).not.toContain('turn-26\n');
    for (let i = 27; i <= 45; i++) expect(t2).toContain(`\nturn-${i}\n`);
  });
});

describe('JudgeLabeler with conversations', () => {
  it('sends the conversation to an endpoint judge and parses its ranking', async () => {
    const bodies: { messages: ChatMessage[] }[] = [];
    const fakeFetch = (async (_url: string, init: { body: string }) => {
      bodies.push(JSON.parse(init.body) as { messages: ChatMessage[] });
      const content = 'Reasoning.\nRANKING: 2 > 1';
      return new Response(JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] }), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof fetch;
    const judge = new JudgeLabeler({ judge: { baseUrl: 'http://judge.test/v1', model: 'm', fetch: fakeFetch } });
    const j = await judge.label(request());
    expect(j).toMatchObject({ kind: 'ranked', ranking: [1, 0] });
    const sent = bodies[0]?.messages[1]?.content as string;
    expect(sent).toContain('Turn 4 (user):\n<<<\nSecond question?\n>>>');
    expect(sent.indexOf('Turn 2 (user)')).toBeLessThan(sent.indexOf('Turn 3 (assistant)'));
  });

  it('a reward-model judge scores the conversation with the chat template; a function judge gets messages; no leaks', async () => {
    const rm = new RewardModel({ vocabSize: tok.vocabSize, contextLength: 192, nLayer: 1, nHead: 2, dModel: 16, seed: 9 });
    const req = request({ responses: ['Reply one.', 'Reply two, longer.', 'Three'] });
    const j = await expectNoLeaks(() => new JudgeLabeler({ judge: rm, tokenizer: tok }).label(req));
    const scores = await rm.scoreConversations(req.responses.map(() => conversation), req.responses, tok);
    const expected = scores.map((s) => scores.filter((o) => o > s).length);
    expect(j).toEqual({ kind: 'ranked', ranking: expected });
    // The scores are those of the template-rendered conversation, not of the plain prompt text.
    const viaIds = await rm.score(req.responses.map(() => tokenizeChatPrompt(conversation, tok)), req.responses.map((r) => [...tok.encode(r), tok.eosId]));
    expect(scores).toEqual(viaIds);
    let seen: LabelRequest | undefined;
    const fn = new JudgeLabeler({ judge: (r: LabelRequest) => { seen = r; return r.responses.map((x) => x.length); } });
    expect(await fn.label(req)).toEqual({ kind: 'ranked', ranking: [1, 0, 2] });
    expect(seen?.messages).toEqual(conversation);
    rm.dispose();
  });

  it('checkRequest rejects a bad conversation with an InputError naming it', () => {
    expect(() => checkRequest(request({ messages: [...conversation, { role: 'assistant', content: 'x' }] }))).toThrow(/request\.messages\[4\]\.role.*last turn/);
    expect(() => checkRequest(request({ messages: [] }))).toThrow(/request\.messages.*empty/);
    expect(() => checkRequest(request({ messages: [{ role: 'user', content: null }] as never }))).toThrow(InputError);
    const e = (() => { try { checkRequest(request({ messages: [{ role: 'x'.repeat(50_000), content: '' }] as never })); } catch (err) { return err as Error; } })();
    expect(e?.message).toMatch(/request\.messages\[0\]\.role/);
    expect(e?.message.length).toBeLessThan(400);
  });
});

describe('TerminalLabeler with a conversation', () => {
  it('prints each turn under its role, escaped, before the responses', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let printed = '';
    output.on('data', (d: Buffer) => { printed += d.toString(); });
    const labeler = new TerminalLabeler({ input, output });
    const answer = labeler.label(request({ messages: [...conversation.slice(0, 3), { role: 'user', content: 'clear \u001b[2J now' }] }));
    input.write('2 1\n');
    expect(await answer).toEqual({ kind: 'ranked', ranking: [1, 0] });
    await labeler.close();
    const order = ['Conversation (4 turns', '  SYSTEM:', '    You are terse.', '  USER:', '    First question <script>', '  ASSISTANT:', '    First answer \\u202egnp.exe', '    clear \\x1b[2J now', 'Responses:', '[1]', '    Reply one.', '[2]'];
    const positions = order.map((s) => printed.indexOf(s));
    expect(positions.every((p) => p >= 0), JSON.stringify(positions)).toBe(true);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(printed).not.toContain('\u001b');
    expect(printed).not.toContain('\u202E');
    expect(printed).not.toContain('Prompt:');
  });
});

/** A labeller answering from a script, recording what it was asked. */
class ScriptedLabeler implements Labeler {
  readonly name = 'script';
  readonly asked: LabelRequest[] = [];
  async label(request: LabelRequest): Promise<Judgement> {
    this.asked.push(request);
    return { kind: 'ranked', ranking: request.responses.map((_, i) => i) };
  }
}

describe('PreferenceCollector with conversation prompts', () => {
  it('samples after the chat template, shows the conversation, writes messages that readRankings reads back', async () => {
    const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { contextLength: 96 });
    const file = join(dir, 'conv.jsonl');
    const labeler = new ScriptedLabeler();
    const make = () => new PreferenceCollector({ policy, tokenizer: tok, labeler, file, k: 2, sampling: { maxNewTokens: 5 }, seed: 3, criteria: [] });
    const short: ChatMessage[] = [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Yo' }, { role: 'user', content: 'Why?' }];
    const summary = await expectNoLeaks(() => make().collect(['plain prompt', short]));
    expect(summary).toMatchObject({ labelled: 2, alreadyDone: 0 });
    const asked = labeler.asked[1] as LabelRequest;
    expect(asked.messages).toEqual(short);
    expect(asked.prompt).toBe(chatPrompt(short));
    expect(labeler.asked[0]?.messages).toBeUndefined();
    // The responses continue the template-rendered conversation (same ids and seed as the collector).
    const id = promptId(short);
    expect(asked.id).toBe(id);
    expect(id).not.toBe(promptId(chatPrompt(short)));
    const seed = (((3 + parseInt(id.slice(0, 8), 16)) % 2 ** 31) + 2 ** 31) % 2 ** 31;
    const ids = tokenizeChatPrompt(short, tok);
    const out = await policy.generate([ids, ids], { maxNewTokens: 5, stopTokens: [tok.eosId], seed });
    expect(asked.responses).toEqual(out.tokens.map((row) => tok.decode(row.filter((t) => t !== tok.eosId))));
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[1]).toMatchObject({ id, prompt: chatPrompt(short), messages: short, responses: asked.responses, ranking: [0, 1] });
    expect(lines[0]).not.toHaveProperty('messages');
    const records = await readAll(readRankings(file));
    expect(records[1]?.messages).toEqual(short);
    // A second session skips both; a bad conversation is refused before anything is sampled.
    expect(await make().collect(['plain prompt', short])).toMatchObject({ labelled: 0, alreadyDone: 2 });
    await expect(make().collect([[{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y' }]])).rejects.toThrow(/prompts\[0\]\[1\]\.role/);
    await expect(make().collect([[{ role: 'narrator', content: 'x' }] as never])).rejects.toThrow(/prompts\[0\]\[0\]\.role/);
    await expect(make().collect([42 as never])).rejects.toThrow(/prompts\[0\].*string or a conversation/);
    policy.dispose();
  });
});

describe('WebLabeler with a conversation', () => {
  it('serves the conversation as JSON (token required) and the page renders its turns through showText', async () => {
    const labeler = await WebLabeler.start();
    try {
      const pending = labeler.label(request());
      const base = labeler.url.replace(/\/\?token=.*$/, '');
      const token = new URL(labeler.url).searchParams.get('token') as string;
      expect((await fetch(`${base}/api/next`)).status).toBe(403);
      const res = await fetch(`${base}/api/next`, { headers: { 'X-Label-Token': token } });
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      const { item } = (await res.json()) as { item: { key: number; messages: ChatMessage[]; prompt: string; responses: string[] } };
      expect(item.messages).toEqual(conversation);
      expect(item.responses).toEqual(['Reply one.', 'Reply two, longer.']);
      const post = await fetch(`${base}/api/judgement`, {
        method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Label-Token': token },
        body: JSON.stringify({ key: item.key, judgement: { kind: 'ranked', ranking: [1, 0] } }),
      });
      expect(post.status).toBe(200);
      expect(await pending).toEqual({ kind: 'ranked', ranking: [1, 0] });
      const page = await (await fetch(labeler.url)).text();
      expect(page).toContain('<ol id="conversation" aria-label="Conversation so far" hidden></ol>');
      expect(page).toContain('showText(body, m.content)');
      expect(page).toContain("showText($('prompt'), it.prompt)");
      expect(page).not.toMatch(/innerHTML|insertAdjacentHTML|document\.write/);
      expect(page).toContain('.turn.user {');
      expect(page).toContain('.turn.assistant {');
    } finally {
      await labeler.close();
    }
    const script = /<script nonce="n0nce">([\s\S]*)<\/script>/.exec(labelPage('n0nce'))?.[1] as string;
    expect(() => new Function(script)).not.toThrow();
  });

  it('in Chromium: shows the turns above the cards, roles distinct, markup inert, bidi marked; ranking still works', async () => {
    const chromium = await launchChromium();
    const labeler = await WebLabeler.start();
    try {
      const pending = labeler.label(request({ responses: ['Reply <img src=x onerror="window.__pwned=2">', 'Reply two'] }));
      const page = await chromium.browser.newPage();
      await page.goto(labeler.url);
      await page.locator('#main').waitFor({ state: 'visible' });
      expect(await page.locator('#prompt-title').textContent()).toBe('Conversation');
      expect(await page.locator('#prompt').isVisible()).toBe(false);
      expect(await page.locator('#replies-title').isVisible()).toBe(true);
      const turns = page.locator('#conversation li.turn');
      expect(await turns.count()).toBe(4);
      expect(await turns.evaluateAll((els) => els.map((e) => e.className))).toEqual(['turn system', 'turn user', 'turn assistant', 'turn user']);
      expect(await page.locator('#conversation .role').allTextContents()).toEqual(['System', 'User', 'Assistant', 'User']);
      const texts = await page.locator('#conversation pre').allTextContents();
      expect(texts).toEqual(['You are terse.', 'First question <script>window.__pwned=1</script>', 'First answer U+202Egnp.exe', 'Second question?']);
      expect(await page.locator('#conversation .cp').allTextContents()).toEqual(['U+202E']);
      // User and assistant turns look different (border colour), and the conversation comes before the cards.
      const colours = await turns.evaluateAll((els) => els.map((e) => getComputedStyle(e).borderLeftColor));
      expect(new Set(colours).size).toBe(3);
      const above = await page.evaluate(() => {
        const c = document.getElementById('conversation') as HTMLElement;
        const cards = document.getElementById('cards') as HTMLElement;
        return Boolean(c.compareDocumentPosition(cards) & Node.DOCUMENT_POSITION_FOLLOWING);
      });
      expect(above).toBe(true);
      expect(await page.locator('#conversation script, img').count()).toBe(0);
      await page.keyboard.press('2');
      await page.keyboard.press('Enter');
      expect(await pending).toEqual({ kind: 'ranked', ranking: [1, 0] });
      expect(await page.evaluate(() => (window as { __pwned?: unknown }).__pwned)).toBeUndefined();
      // The next item, a plain prompt, hides the conversation again.
      const plain = labeler.label({ id: 'p2', prompt: 'Plain <i>prompt</i>', responses: ['a', 'b'] });
      await page.locator('#prompt', { hasText: 'Plain' }).waitFor();
      expect(await page.locator('#conversation').isVisible()).toBe(false);
      expect(await page.locator('#conversation li').count()).toBe(0);
      expect(await page.locator('#prompt-title').textContent()).toBe('Prompt');
      await page.keyboard.press('s');
      expect(await plain).toEqual({ kind: 'skipped' });
    } finally {
      await labeler.close();
      await chromium.close();
    }
  }, 120_000);
});
