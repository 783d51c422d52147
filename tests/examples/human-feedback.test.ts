// Runs examples/human-feedback.ts with the terminal labeller, the rankings typed on piped stdin as a
// person would, and checks the rankings land in the file in the given order and a reward model is saved;
// a second run with the same prompts asks nothing (resume).
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'rlhf-human-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

function run(input: string): { stdout: string; stderr: string } {
  const r = spawnSync('npx', ['tsx', 'examples/human-feedback.ts'], {
    cwd: root, encoding: 'utf8', timeout: 120_000, input,
    env: { ...process.env, LABELER: 'terminal', ITEMS: '3', K: '3', OUT: dir },
  });
  expect(r.status, r.stderr).toBe(0);
  return { stdout: r.stdout, stderr: r.stderr };
}

describe('examples/human-feedback.ts (terminal, piped)', () => {
  it('saves each typed ranking, trains a reward model on them, and resumes without asking again', () => {
    const first = run('3 1 2\n2>1=3\n1 2 3\n');
    const lines = readFileSync(join(dir, 'comparisons.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ranking: number[]; labeler: string });
    expect(lines.map((l) => l.ranking)).toEqual([[1, 2, 0], [1, 0, 1], [0, 1, 2]]);
    expect(lines.every((l) => l.labeler === 'terminal')).toBe(true);
    expect(existsSync(join(dir, 'reward-model', 'model.safetensors'))).toBe(true);
    expect(first.stdout).toBe(''); // everything goes to stderr; stdout stays clean
    expect(first.stderr).toContain('ranked 3, skipped 0, already done 0');
    expect(first.stderr).toMatch(/reward model: accuracy on your \d+ comparisons/);
    const again = run('');
    expect(again.stderr).toContain('ranked 0, skipped 0, already done 3');
    expect(readFileSync(join(dir, 'comparisons.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
  }, 200_000);
});
