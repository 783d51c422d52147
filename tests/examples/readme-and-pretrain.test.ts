// Runs the README's usage example and the pretraining demo (shortened) as a user would, against the
// built package (dist/ is built once by tests/global-setup.ts).
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

function runExample(file: string, env: Record<string, string> = {}): string {
  return execFileSync('npx', ['tsx', file], { cwd: root, encoding: 'utf8', timeout: 180_000, env: { ...process.env, ...env } });
}

describe('examples', () => {
  it('the README usage example runs and prints finite scores and KL for 5 PPO steps', () => {
    const out = runExample('examples/readme-usage.ts');
    const lines = out.trim().split('\n').filter((l) => /^\d+ /.test(l));
    expect(lines).toHaveLength(5);
    for (const l of lines) for (const x of l.split(' ').slice(1)) expect(Number.isFinite(Number(x))).toBe(true);
  });

  it('the pretraining demo runs (10 steps) and lowers the held-out loss', () => {
    // OUT keeps the demo's real checkpoint (.tmp/pretrained-brown) from being overwritten by this short run.
    const outDir = join(tmpdir(), `rlhf-pretrain-${process.pid}`);
    let out: string;
    try {
      out = runExample('examples/pretrain-brown.ts', { STEPS: '10', OUT: outDir });
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
    const losses = [...out.matchAll(/held-out loss ([\d.]+)/g)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(2);
    expect(losses[1]!).toBeLessThan(losses[0]!);
    expect(out).toContain('--- samples after training ---');
  });
});
