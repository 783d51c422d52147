// fromPretrained('org/name') through a local Hub stand-in (HF_ENDPOINT), landing in HF_HOME's cache in
// huggingface_hub's layout; a second call offline (HF_HUB_OFFLINE=1) is served from the cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setupBackend } from '../helpers/backend';
import { TransformerPolicy } from '../../src/models/policy';
import { Gpt2Tokenizer } from '../../src/tokenizers/gpt2';
import { hubFile } from '../../src/hf/hub';
import { ConfigError, HubError } from '../../src/errors';
import type { ProgressEvent } from '../../src/logging/logger';
import { startHub, type HubStandIn } from './hub-server';

const FIXTURE = resolve(__dirname, '../fixtures/hf-gpt2');
const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as { sequences: number[][]; logProbs: Record<string, number[][]>; texts: string[]; encodings: number[][] };
let hub: HubStandIn;
let home: string;
const saved = { ...process.env };

beforeAll(async () => {
  await setupBackend();
  hub = await startHub(join(FIXTURE, 'tiny-gpt2'), { token: 'hf_test' });
  home = await mkdtemp(join(tmpdir(), 'hf-home-'));
  Object.assign(process.env, { HF_ENDPOINT: hub.endpoint, HF_HOME: home, HF_TOKEN: 'hf_test' });
  delete process.env.HF_HUB_CACHE;
  delete process.env.HF_HUB_OFFLINE;
});
afterAll(async () => {
  process.env = saved;
  await hub.close();
  await rm(home, { recursive: true, force: true });
});

describe('the Hub', () => {
  it('fromPretrained("org/tiny-gpt2") downloads into HF_HOME/hub in the huggingface_hub layout, then works offline', async () => {
    const progress: ProgressEvent[] = [];
    const logger = { log: () => undefined, progress: (e: ProgressEvent) => progress.push(e) };
    const policy = await TransformerPolicy.fromPretrained('org/tiny-gpt2', { logger });
    const lp = await policy.logProbs(expected.sequences.map((s) => s.slice(0, 1)), expected.sequences.map((s) => s.slice(1)));
    lp.forEach((row, i) => row.forEach((x, j) => expect(Math.abs(x - expected.logProbs['tiny-gpt2']![i]![j]!)).toBeLessThan(1e-4)));
    policy.dispose();
    expect(progress.some((e) => e.task.endsWith('model.safetensors') && e.unit === 'B' && e.done === e.total)).toBe(true);

    const root = join(home, 'hub', 'models--org--tiny-gpt2');
    expect((await readFile(join(root, 'refs', 'main'), 'utf8')).trim()).toBe(hub.commit);
    const weights = readFileSync(join(FIXTURE, 'tiny-gpt2', 'model.safetensors'));
    const sha = createHash('sha256').update(weights).digest('hex');
    expect(await readlink(join(root, 'snapshots', hub.commit, 'model.safetensors'))).toBe(`../../blobs/${sha}`);
    const config = readFileSync(join(FIXTURE, 'tiny-gpt2', 'config.json'));
    const blobSha1 = createHash('sha1').update(`blob ${config.length}\0`).update(config).digest('hex');
    expect(await readlink(join(root, 'snapshots', hub.commit, 'config.json'))).toBe(`../../blobs/${blobSha1}`);
    expect(await readdir(join(root, '.no_exist', hub.commit))).toContain('model.safetensors.index.json');
    expect((await readdir(join(root, 'blobs'))).filter((f) => f.includes('incomplete'))).toEqual([]);

    hub.requests.length = 0;
    process.env.HF_HUB_OFFLINE = '1';
    try {
      const again = await TransformerPolicy.fromPretrained('org/tiny-gpt2');
      expect(again.config.vocabSize).toBe(300);
      again.dispose();
      await expect(hubFile('org/tiny-gpt2', 'not-cached.json')).rejects.toThrow(/offline/);
    } finally {
      delete process.env.HF_HUB_OFFLINE;
    }
    expect(hub.requests).toEqual([]);
  });

  it('a commit-sha revision with a cached file makes no request', async () => {
    await hubFile('org/tiny-gpt2', 'config.json');
    hub.requests.length = 0;
    expect(await hubFile('org/tiny-gpt2', 'config.json', { revision: hub.commit })).toContain(`snapshots/${hub.commit}/config.json`);
    expect(hub.requests).toEqual([]);
  });

  it('Gpt2Tokenizer.fromPretrained reads the tokenizer from the Hub', async () => {
    const tok = await Gpt2Tokenizer.fromPretrained('org/tiny-gpt2');
    expect(tok.encode(expected.texts[0]!)).toEqual(expected.encodings[0]);
  });

  it('follows a relative redirect (renamed repo) and returns undefined for a missing file', async () => {
    expect(await hubFile('old-org/tiny-gpt2', 'vocab.json', { cacheDir: join(home, 'other') })).toMatch(/models--old-org--tiny-gpt2\/snapshots\/.*\/vocab\.json$/);
    expect(await hubFile('org/tiny-gpt2', 'nope.bin')).toBeUndefined();
  });

  it('no token -> HubError 401; unknown repo -> HubError 404', async () => {
    const cacheDir = join(home, 'fresh');
    const e1 = await hubFile('org/tiny-gpt2', 'config.json', { token: false, cacheDir }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(HubError);
    expect((e1 as HubError).status).toBe(401);
    const e2 = await hubFile('org/other', 'config.json', { cacheDir }).catch((e: unknown) => e);
    expect((e2 as HubError).status).toBe(404);
  });

  it('a download that fails its sha256 check leaves nothing in the cache', async () => {
    const cacheDir = join(home, 'corrupt');
    const sha = createHash('sha256').update(readFileSync(join(FIXTURE, 'tiny-gpt2', 'model.safetensors'))).digest('hex');
    hub.corrupt.add(sha);
    try {
      await expect(hubFile('org/tiny-gpt2', 'model.safetensors', { cacheDir })).rejects.toThrow(/checksum mismatch/);
    } finally {
      hub.corrupt.delete(sha);
    }
    expect(await readdir(join(cacheDir, 'models--org--tiny-gpt2', 'blobs'))).toEqual([]);
  });

  it('a download cut half-way (connection dropped) is a HubError and leaves nothing in the cache', async () => {
    const cacheDir = join(home, 'cut');
    const sha = createHash('sha256').update(readFileSync(join(FIXTURE, 'tiny-gpt2', 'model.safetensors'))).digest('hex');
    hub.truncate.add(sha);
    try {
      await expect(hubFile('org/tiny-gpt2', 'model.safetensors', { cacheDir })).rejects.toThrow(HubError);
    } finally {
      hub.truncate.delete(sha);
    }
    expect(await readdir(join(cacheDir, 'models--org--tiny-gpt2', 'blobs'))).toEqual([]);
    expect(await hubFile('org/tiny-gpt2', 'model.safetensors', { cacheDir })).toContain('snapshots'); // the next call completes it
  });

  it('an unreachable Hub with nothing cached is a HubError', async () => {
    await expect(hubFile('org/tiny-gpt2', 'config.json', { endpoint: 'http://127.0.0.1:9', cacheDir: join(home, 'none') })).rejects.toThrow(HubError);
  });
});

describe('hubFile arguments', () => {
  it.each([['org/../x', 'config.json'], ['org/name', '../../etc/passwd'], ['org/name', '/abs'], ['org/name', 'a//b']])('%s %s -> ConfigError', async (repo, file) => {
    await expect(hubFile(repo, file, { offline: true })).rejects.toThrow(ConfigError);
  });
});
