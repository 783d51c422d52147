// Runs examples/from-hub.ts as a user would (npx tsx, against the built package), pointed at the local Hub
// stand-in (HF_ENDPOINT) serving the tiny GPT-2 fixture as REPO=org/tiny-gpt2, with QUICK=1 and one PPO
// step: it must download into HF_HOME, align, and write a GPT2LMHeadModel folder plus a prompts JSONL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startHub, type HubStandIn } from './hub-server';

const root = resolve(__dirname, '../..');
let hub: HubStandIn;
let tmp: string;
let printed = '';
beforeAll(async () => {
  hub = await startHub(join(root, 'tests/fixtures/hf-gpt2/tiny-gpt2'));
  tmp = await mkdtemp(join(tmpdir(), 'from-hub-'));
  // execFile, not execFileSync: the stand-in server runs on this process's event loop.
  const { stdout } = await promisify(execFile)('npx', ['tsx', 'examples/from-hub.ts'], {
    cwd: root, timeout: 300_000, maxBuffer: 8 << 20,
    env: { ...process.env, QUICK: '1', STEPS: '1', REPO: 'org/tiny-gpt2', HF_ENDPOINT: hub.endpoint, HF_HOME: join(tmp, 'hf'), HF_HUB_CACHE: '', HF_HUB_OFFLINE: '', OUT: join(tmp, 'out') },
  });
  printed = stdout;
}, 320_000);
afterAll(async () => {
  await hub.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('examples/from-hub.ts against the Hub stand-in', () => {
  it('downloads, aligns for a step and exports', () => {
    expect(printed).toContain('loading org/tiny-gpt2@main');
    expect(printed).toMatch(/loaded [\d,]+ parameters \(vocab 300, 2 layers, width 64\)/);
    expect(printed).toMatch(/step 1 +reward -?\d/);
    expect(printed).toMatch(/mean sentiment -?\d+\.\d\d -> -?\d+\.\d\d/);
    expect(existsSync(join(tmp, 'hf', 'hub', 'models--org--tiny-gpt2', 'refs', 'main'))).toBe(true);
    const config = JSON.parse(readFileSync(join(tmp, 'out', 'policy', 'config.json'), 'utf8'));
    expect(config.architectures).toEqual(['GPT2LMHeadModel']);
    expect(existsSync(join(tmp, 'out', 'policy', 'tokenizer.json'))).toBe(true);
    expect(readFileSync(join(tmp, 'out', 'prompts.jsonl'), 'utf8').trim().split('\n')).toHaveLength(8);
  });
});
