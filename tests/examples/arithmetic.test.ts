// examples/arithmetic.ts (issue 15's tool-use demonstration), as a very short run: the problem sets and
// demonstrations, then both arms through SFT and a couple of GRPO steps, checking that the SFT tool
// policy writes well-formed calculator calls and gets the exact result inserted. The example imports
// the built package (dist/, built by tests/global-setup.ts), as a user's script would.
import { describe, expect, it } from 'vitest';
import { runArithmetic, arithmeticTable } from '../../examples/arithmetic';
import { callText, demonstrations, makeProblems, problemKey } from '../../examples/arithmetic/task';
import { Rng, calculatorTool } from 'tfjs-rlhf';

describe('examples/arithmetic.ts', () => {
  it('problems are seeded, laid out in fixed fields, held-out sets disjoint; tool demonstrations never put loss on the tool\'s digits', async () => {
    const train = makeProblems(3, 200, 1, 2, 4);
    expect(makeProblems(3, 200, 1, 2, 4)).toEqual(train);
    const seen = new Set(train.map(problemKey));
    const held = makeProblems(4, 50, 1, 2, 4, seen);
    expect(held.some((p) => seen.has(problemKey(p)))).toBe(false);
    const large = makeProblems(5, 50, 3, 4, 4);
    const calc = calculatorTool();
    for (const p of [...train, ...held, ...large]) {
      // Same layout for every problem: "What is " + field + " op " + field + "?\n", fields of 4 characters.
      expect(p.prompt).toMatch(/^What is [ 0-9]{4} [-+*] [ 0-9]{4}\?\n$/);
      expect(p.prompt).toBe(`What is ${p.expression}?\n`);
      expect(BigInt(p.answer)).toBeGreaterThanOrEqual(0n);
      expect(await calc.run(p.expression)).toBe(p.answer); // the calculator ignores the fields' spaces
    }
    for (const p of large) for (const n of problemKey(p).split(/[-+*]/)) expect(n.length).toBeGreaterThanOrEqual(3);
    // The random place in the field puts digits at every position of it.
    const digitAt = [0, 1, 2, 3].map((i) => train.some((p) => /[0-9]/.test(p.expression[i] as string)));
    expect(digitAt).toEqual([true, true, true, true]);
    expect(() => makeProblems(1, 1, 1, 5, 4)).toThrow(/width/);
    const p = train[0]!;
    const [call, end] = demonstrations([p], true, new Rng(0), 0);
    expect(call).toEqual({ prompt: p.prompt, completion: callText(p) });
    // The result is context (prompt) of the second example: only "\n" (and the EOS) is a target.
    expect(end).toEqual({ prompt: `${p.prompt}${callText(p)}${p.answer}`, completion: '\n' });
    const shifted = demonstrations(train, true, new Rng(0), 4).filter((_, i) => i % 2 === 1);
    const pads = new Set(shifted.map((e) => /^ */.exec(e.prompt)![0].length));
    expect([...pads].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(demonstrations([p], false, new Rng(0), 0)).toEqual([{ prompt: p.prompt, completion: p.answer }]);
  });

  it('a short run: the SFT tool policy writes well-formed calls and the calculator\'s exact result is inserted', async () => {
    const lines: string[] = [];
    const r = await runArithmetic({
      seed: 1, trainDigits: 2, largeDigits: 1, sftProblems: 400, sftEpochs: 16, grpoSteps: 2, evalProblems: 20,
      dModel: 64, nLayer: 2, log: (l) => lines.push(l),
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
