// examples/cartpole.ts: the CartPole-v1 physics against hand-computed Gymnasium steps, the example's
// episode-fragment packing through the core's gae against CleanRL's GAE loop, and a short training run
// (12 iterations of 4 x 128 steps, as a user runs it: `npx tsx`, against the built package in dist/,
// which tests/global-setup.ts builds) that must learn.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { tf } from '../../src/tf';
import { gae } from '../../src/rl/index';
import { CartPole, SeededRandom, VectorCartPole, CARTPOLE } from '../../examples/cartpole/env';
import { fromFragments, toFragments } from '../../examples/cartpole/fragments';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';
import { cleanRlGae } from '../rl/cleanrl-reference';
import { close } from '../rl/helpers';

const root = resolve(__dirname, '../..');
let dir: string;
beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(join(tmpdir(), 'rlhf-cartpole-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A CartPole set to a given state. */
function poleAt(state: [number, number, number, number]): CartPole {
  const env = new CartPole(new SeededRandom(0));
  env.reset();
  env.state = [...state];
  return env;
}

describe('CartPole-v1 physics', () => {
  it('one push right from rest: the closed form of the Gymnasium equations', () => {
    // temp = F / M = 100/11; thetaacc = -temp / (l (4/3 - m/M)) = -(100/11) / (41/66) = -600/41;
    // xacc = temp - m l thetaacc / M = 100/11 + 300/451 = 400/41. Euler: x_dot = 0.02 xacc, theta_dot = 0.02 thetaacc.
    const r = poleAt([0, 0, 0, 0]).step(1);
    expect(Array.from(r.obs)).toEqual(Array.from(Float32Array.from([0, 8 / 41, 0, -12 / 41])));
    expect(r).toMatchObject({ reward: 1, terminated: false, truncated: false });
  });

  it('three steps from (0.01, -0.02, 0.03, 0.04), actions 1, 0, 0, match Gymnasium (computed with its formulas in float64)', () => {
    const env = poleAt([0.01, -0.02, 0.03, 0.04]);
    const expected = [
      [0.009600000000000001, 0.17467919574755525, 0.030799999999999998, -0.2430687179600081],
      [0.013093583914951107, -0.020868848948191993, 0.025938625640799837, 0.0591679999394166],
      [0.012676206935987267, -0.21635292104612766, 0.02712198563958817, 0.3599205713784138],
    ];
    [1, 0, 0].forEach((a, k) => {
      const r = env.step(a);
      close(env.state, expected[k]!, 1e-12, 1e-3);
      expect(Array.from(r.obs)).toEqual(Array.from(Float32Array.from(env.state))); // float32 observation
    });
  });

  it('terminates past 12 degrees or 2.4 m, and truncates at step 500', () => {
    expect(CARTPOLE.thetaThreshold).toBeCloseTo(0.20943951, 8);
    expect(poleAt([0, 0, 0.2094, 0.1]).step(1).terminated).toBe(true); // theta 0.2094 + 0.002 > 0.2094395
    expect(poleAt([0, 0, 0.2, 0]).step(1).terminated).toBe(false);
    expect(poleAt([2.399, 0.1, 0, 0]).step(1).terminated).toBe(true); // x 2.399 + 0.002 > 2.4
    expect(poleAt([-2.399, -0.1, 0, 0]).step(0).terminated).toBe(true);
    const env = poleAt([0, 0, 0, 0]);
    env.elapsed = 499;
    expect(env.step(1)).toMatchObject({ terminated: false, truncated: true });
  });

  it('resets uniformly in [-0.05, 0.05), deterministically for a seed; the vector env auto-resets on done', () => {
    const a = new CartPole(new SeededRandom(3));
    const b = new CartPole(new SeededRandom(3));
    for (let i = 0; i < 50; i++) {
      const o = a.reset();
      expect(Array.from(o)).toEqual(Array.from(b.reset()));
      for (const v of o) expect(Math.abs(v)).toBeLessThanOrEqual(0.05);
    }
    const venv = new VectorCartPole(2, 1);
    venv.envs[0]!.state = [0, 0, 0.21, 0]; // about to fall
    const rewards = new Float32Array(2);
    const dones = new Float32Array(2);
    const ended = venv.step([1, 1], rewards, dones);
    expect(Array.from(dones)).toEqual([1, 0]);
    expect(ended).toEqual([{ return: 1, length: 1 }]);
    expect(venv.envs[0]!.elapsed).toBe(0);
    for (const v of venv.obs.subarray(0, 4)) expect(Math.abs(v)).toBeLessThanOrEqual(0.05); // already the next episode
  });
});

describe('episode fragments through the core gae (the example\'s computeAdvantages)', () => {
  it('equal CleanRL GAE with dones and the bootstrap value', () => {
    const arb = fc.record({ T: fc.integer({ min: 1, max: 9 }), N: fc.integer({ min: 1, max: 3 }), seed: fc.integer({ min: 0, max: 1e6 }) });
    fc.assert(
      fc.property(arb, ({ T, N, seed }) => {
        const rng = new SeededRandom(seed);
        const grid = (f: () => number) => Array.from({ length: T }, () => Array.from({ length: N }, f));
        const rewards = grid(() => Math.fround(rng.uniform(-1, 2)));
        const values = grid(() => Math.fround(rng.uniform(-3, 3)));
        const dones = grid(() => (rng.next() < 0.25 ? 1 : 0));
        const next = Array.from({ length: N }, () => Math.fround(rng.uniform(-3, 3)));
        const ref = cleanRlGae(rewards, values, dones, next, 0.99, 0.95);
        const ro = { rewards: Float32Array.from(rewards.flat()), values: Float32Array.from(values.flat()), dones: Float32Array.from(dones.flat()), nextValues: Float32Array.from(next) };
        const batch = toFragments(ro, N, T, 0.99);
        expect(batch.B).toBe(N + dones.flat().filter((d, i) => d === 1 && Math.floor(i / N) < T - 1).length);
        const [adv, ret] = expectNoLeaks(() => {
          const shape: [number, number] = [batch.B, batch.L];
          const inputs = [tf.tensor2d(batch.rewards, shape), tf.tensor2d(batch.values, shape), tf.tensor2d(batch.mask, shape)] as const;
          const res = gae(...inputs, { gamma: 0.99, lam: 0.95 });
          const out = [res.advantages.dataSync(), res.returns.dataSync()];
          tf.dispose([...inputs, res.advantages, res.returns]);
          return out;
        });
        close(fromFragments(batch, adv!, N, T), ref.advantages.flat(), 1e-4);
        close(fromFragments(batch, ret!, N, T), ref.returns.flat(), 1e-4);
      }),
      { numRuns: 40 },
    );
  });
});

interface RunJson {
  backend: string;
  numEnvs: number;
  results: { seed: number; last20: number; last100: number; globalStep: number; episodes: number; tensorsLeft: number; curve: [number, number, number][] }[];
}

describe('examples/cartpole.ts (short run)', () => {
  it('learns within 12 iterations on a fixed seed, finite throughout, no tensor leaks', async () => {
    // CleanRL's settings (4 environments x 128 steps per rollout), but 12 x 512 steps and a 10x
    // learning rate, so that a few seconds of training show a clear effect (seed 1 goes from about 23
    // to about 120 on wasm).
    const out = join(dir, 'run.json');
    const args = ['tsx', 'examples/cartpole.ts', '--seed', '1', '--total-steps', '6144', '--learning-rate', '2.5e-3', '--backend', 'wasm', '--out', out];
    const r = spawnSync('npx', args, { cwd: root, encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/seed 1: last-20-episode mean return \d+\.\d/);
    const json = JSON.parse(await readFile(out, 'utf8')) as RunJson;
    const res = json.results[0]!;
    expect(json.backend).toBe('wasm');
    expect(json.numEnvs).toBe(4); // CleanRL ppo.py's default, not 8
    expect(res).toMatchObject({ seed: 1, globalStep: 6144, tensorsLeft: 0 });
    expect(res.curve.map((c) => c[0])).toEqual(Array.from({ length: 12 }, (_, i) => 512 * (i + 1)));
    const first = res.curve[0]![2];
    const last = res.curve.at(-1)![2];
    expect(Number.isFinite(first) && Number.isFinite(last) && Number.isFinite(res.last20)).toBe(true);
    // A random policy lasts about 22 steps; after 11 updates the episodes are several times longer.
    expect(first).toBeLessThan(30);
    expect(last).toBeGreaterThan(2 * first);
    expect(res.last20).toBeGreaterThan(50);
    expect(res.last20).toBeLessThanOrEqual(500);
    expect(res.last100).toBeGreaterThan(first);
    expect(res.last100).toBeLessThanOrEqual(res.last20); // episodes get longer, so the last 20 beat the last 100
  });
});
