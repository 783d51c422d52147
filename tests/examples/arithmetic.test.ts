// examples/arithmetic.ts (issue 15's tool-use demonstration), as a very short run: the problem sets and
// demonstrations, then both arms through SFT and a couple of GRPO steps, checking that the SFT tool
// policy writes well-formed calculator calls and gets the exact result inserted. The example imports
// the built package (dist/, built by tests/global-setup.ts), as a user's script would.
import { describe, expect, it } from 'vitest';
import { runArithmetic, arithmeticTable } from '../../examples/arithmetic';
import { callText, demonstrations, makeProblems } from '../../examples/arithmetic/task';
import { Rng } from 'tfjs-rlhf';

describe('examples/arithmetic.ts', () => {
  it('problems are seeded, held-out sets are disjoint, tool demonstrations never put loss on the tool\'s digits', () => {
    const train = makeProblems(3, 200, 1, 2);
    expect(makeProblems(3, 200, 1, 2)).toEqual(train);
    const seen = new Set(train.map((p) => p.prompt));
    const held = makeProblems(4, 50, 1, 2, seen);
    expect(held.some((p) => seen.has(p.prompt))).toBe(false);
    for (const p of [...train, ...held]) expect(BigInt(p.answer)).toBeGreaterThanOrEqual(0n);
    const large = makeProblems(5, 50, 3, 4);
    for (const p of large) for (const n of p.expression.split(/[-+*]/)) expect(n.length).toBeGreaterThanOrEqual(3);
    const p = train[0]!;
    const [call, answer] = demonstrations([p], true, new Rng(0), 0);
    expect(call).toEqual({ prompt: p.prompt, completion: callText(p) });
    // The result is context (prompt) of the second example: only "\n#### n" is a target.
    expect(answer).toEqual({ prompt: `${p.prompt}${callText(p)}${p.answer}`, completion: `\n#### ${p.answer}` });
    expect(demonstrations([p], false, new Rng(0), 0)).toEqual([{ prompt: p.prompt, completion: `#### ${p.answer}` }]);
  });

  it('a short run: the SFT tool policy writes well-formed calls and the calculator\'s exact result is inserted', async () => {
    const lines: string[] = [];
    const r = await runArithmetic({
      seed: 1, trainDigits: 1, largeDigits: 1, sftProblems: 400, sftEpochs: 6, grpoSteps: 2, evalProblems: 20,
      dModel: 32, nLayer: 2, log: (l) => lines.push(l),
    });
    expect(lines.some((l) => l.startsWith('[tool] GRPO step 2/2'))).toBe(true);
    // After 150 SFT steps the calls are well formed (copying the right digits takes longer); every one of
    // them gets the calculator's exact answer inserted right after `</calc>`, marked as tool-written.
    const seen = `${JSON.stringify(r.tool.sftToolUse)}\n${r.tool.samples.join('\n')}`;
    expect(r.tool.sftToolUse.wellFormedCalls.train, seen).toBeGreaterThan(0.8);
    expect(r.tool.sftToolUse.resultInserted, seen).toBe(1);
    expect(r.noTool.sftToolUse).toEqual({ wellFormedCalls: { train: 0, large: 0 }, exactCalls: { train: 0, large: 0 }, resultInserted: 0 });
    for (const a of [r.tool.sft, r.tool.grpo, r.noTool.sft, r.noTool.grpo]) {
      for (const x of [a.train, a.large]) expect(x >= 0 && x <= 1).toBe(true);
    }
    expect(arithmeticTable(r)).toMatch(/\| calculator, SFT \+ GRPO \| \d+\.\d% \| \d+\.\d% \|/);
  }, 600_000);
});
