// Runs examples/ppo-vs-dpo.ts with its smoke settings (QUICK=1) as a user would (against the built
// package) and checks that both arms ran and the side-by-side table was printed with finite numbers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
let out: string;
let printed: string;
beforeAll(async () => {
  out = join(await mkdtemp(join(tmpdir(), 'rlhf-ppo-vs-dpo-')), 'run');
  printed = execFileSync('npx', ['tsx', 'examples/ppo-vs-dpo.ts'], {
    cwd: root, encoding: 'utf8', timeout: 400_000, env: { ...process.env, QUICK: '1', OUT: out },
  });
}, 420_000);
afterAll(() => rm(resolve(out, '..'), { recursive: true, force: true }));

describe('examples/ppo-vs-dpo.ts (QUICK=1)', () => {
  it('runs both arms from the same SFT policy and prints score and KL side by side', () => {
    for (const line of ['SFT:', 'comparisons:', 'PPO arm: reward model', 'PPO arm: 2 PPO steps', 'DPO arm:']) expect(printed, line).toContain(line);
    for (const arm of ['SFT', 'PPO', 'DPO']) expect(printed).toMatch(new RegExp(`\\n  ${arm}\\s+-?\\d+\\.\\d\\d\\s+\\d\\.\\d\\d\\s+\\d+\\.\\d{3}\\s`));
    expect(printed).toMatch(/\n {2}SFT\s+-?\d+\.\d\d\s+\d\.\d\d\s+0\.000\s/); // the SFT policy has KL 0 to itself
    for (const f of ['ppo-arm/ppo/trainer.json', 'dpo-arm/dpo/trainer.json']) expect(existsSync(join(out, f)), f).toBe(true);
  });
});
