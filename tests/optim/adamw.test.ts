import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tf } from '../../src/tf';
import { expectNoLeaks } from '../helpers/leaks';
import { AdamW, type AdamWState, type EpsilonPlacement } from '../../src/optim/adamw';
import { ConfigError, InputError } from '../../src/errors';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface RefOpts {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  wd: number;
  placement: EpsilonPlacement;
}

/** Straightforward float64 AdamW, written from the formulas (not from the implementation's rewrite). */
function refStep(
  w: number[], m: number[], v: number[], g: number[], t: number, lr: number, decay: boolean, o: RefOpts,
): void {
  const bc1 = 1 - o.beta1 ** t;
  const bc2 = 1 - o.beta2 ** t;
  for (let j = 0; j < w.length; j++) {
    const gj = g[j]!;
    m[j] = o.beta1 * m[j]! + (1 - o.beta1) * gj;
    v[j] = o.beta2 * v[j]! + (1 - o.beta2) * gj * gj;
    if (decay) w[j] = w[j]! - lr * o.wd * w[j]!;
    let update: number;
    if (o.placement === 'pytorch') {
      update = (lr * (m[j]! / bc1)) / (Math.sqrt(v[j]! / bc2) + o.eps);
    } else {
      const lrT = (lr * Math.sqrt(bc2)) / bc1;
      update = (lrT * m[j]!) / (Math.sqrt(v[j]!) + o.eps);
    }
    w[j] = w[j]! - update;
  }
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, rel = 1e-5, floor = 1): void {
  expect(actual.length).toBe(expected.length);
  for (let j = 0; j < expected.length; j++) {
    const a = actual[j]!;
    const e = expected[j]!;
    const tol = rel * Math.max(Math.abs(e), floor);
    if (!(Math.abs(a - e) <= tol)) {
      throw new Error(`index ${j}: got ${a}, expected ${e} (tol ${tol})`);
    }
  }
}

const f32 = fc.float({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true });
const shapes: number[][] = [[3], [2, 3], [1, 2, 2]];

const caseArb = fc.record({
  lr: fc.constantFrom(1e-3, 1e-2, 0.1),
  beta1: fc.constantFrom(0, 0.5, 0.9),
  beta2: fc.constantFrom(0.9, 0.99, 0.999),
  eps: fc.constantFrom(1e-8, 1e-6, 1e-3),
  wd: fc.constantFrom(0, 0.01, 0.1),
  placement: fc.constantFrom<EpsilonPlacement>('pytorch', 'tf1'),
  steps: fc.integer({ min: 1, max: 5 }),
  seedValues: fc.array(f32, { minLength: 200, maxLength: 200 }),
  overrides: fc.array(fc.option(fc.constantFrom(1e-3, 5e-3, 0.05), { nil: undefined }), {
    minLength: 5,
    maxLength: 5,
  }),
});

describe('AdamW', () => {
  it('matches a plain-number reference implementation', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        let k = 0;
        const next = (): number => c.seedValues[k++ % c.seedValues.length]!;
        const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
        const w0 = sizes.map((n) => Array.from({ length: n }, next));
        const vars = shapes.map((s, i) => tf.variable(tf.tensor(w0[i]!, s, 'float32')));
        const opts: RefOpts = { lr: c.lr, beta1: c.beta1, beta2: c.beta2, eps: c.eps, wd: c.wd, placement: c.placement };
        const opt = new AdamW(vars, {
          learningRate: c.lr, beta1: c.beta1, beta2: c.beta2, epsilon: c.eps,
          epsilonPlacement: c.placement, weightDecay: c.wd,
        });
        const rw = w0.map((a) => [...a]);
        const rm = sizes.map((n) => new Array<number>(n).fill(0));
        const rv = sizes.map((n) => new Array<number>(n).fill(0));
        try {
          for (let t = 1; t <= c.steps; t++) {
            const gs = sizes.map((n) => Array.from({ length: n }, next));
            const override = c.overrides[t - 1];
            const grads = shapes.map((s, i) => tf.tensor(gs[i]!, s, 'float32'));
            opt.applyGradients(grads, override);
            tf.dispose(grads);
            shapes.forEach((s, i) => refStep(rw[i]!, rm[i]!, rv[i]!, gs[i]!, t, override ?? c.lr, s.length >= 2, opts));
          }
          expect(opt.step).toBe(c.steps);
          vars.forEach((x, i) => close(x.dataSync(), rw[i]!));
          const st = opt.exportState();
          sizes.forEach((_, i) => {
            close(st.tensors[`m.${i}`]!.data, rm[i]!);
            close(st.tensors[`v.${i}`]!.data, rv[i]!);
          });
        } finally {
          opt.dispose();
          tf.dispose(vars);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('the tf1 form gives a smaller first update than the pytorch form with the same epsilon', () => {
    const run = (placement: EpsilonPlacement): number => {
      const w = tf.variable(tf.tensor([1], [1]));
      const opt = new AdamW([w], { learningRate: 0.1, epsilon: 1e-3, epsilonPlacement: placement });
      const g = tf.tensor([1e-3], [1]);
      opt.applyGradients([g]);
      const delta = 1 - w.dataSync()[0]!;
      g.dispose();
      opt.dispose();
      w.dispose();
      return delta;
    };
    expect(run('tf1')).toBeLessThan(run('pytorch'));
  });

  it('decays decoupled: with zero gradients w shrinks by exactly (1 - lr*wd) per step', () => {
    const lr = 0.05;
    const wd = 0.1;
    const mat = tf.variable(tf.tensor([[1, -2], [3.5, 0.25]]));
    const bias = tf.variable(tf.tensor([1, -2, 3]));
    const custom = tf.variable(tf.tensor([[4, 5]]));
    const opt = new AdamW([mat, bias, custom], {
      learningRate: 1, weightDecay: wd, decayMask: (v, i) => v.rank >= 2 && i !== 2,
    });
    expect(opt.decayFlags).toEqual([true, false, false]);
    const zeros = [tf.zerosLike(mat), tf.zerosLike(bias), tf.zerosLike(custom)];
    const factor = Math.fround(1 - lr * wd);
    let expected = Array.from(mat.dataSync());
    for (let s = 0; s < 4; s++) {
      opt.applyGradients(zeros, lr);
      expected = expected.map((x) => Math.fround(x * factor));
      expect(Array.from(mat.dataSync())).toEqual(expected);
      expect(Array.from(bias.dataSync())).toEqual([1, -2, 3]);
      expect(Array.from(custom.dataSync())).toEqual([4, 5]);
    }
    tf.dispose([...zeros, mat, bias, custom]);
    opt.dispose();
  });

  it('restores exactly from exportState/importState mid-run', () => {
    const init = [tf.randomNormal([4, 3], 0, 1, 'float32', 1), tf.randomNormal([3], 0, 1, 'float32', 2)];
    const a = init.map((x) => tf.variable(x.clone()));
    const b = init.map((x) => tf.variable(x.clone()));
    const o = { learningRate: 0.01, weightDecay: 0.05 };
    const optA = new AdamW(a, o);
    const grads = Array.from({ length: 6 }, (_, s) =>
      init.map((x, i) => tf.randomNormal(x.shape, 0, 1, 'float32', 10 * s + i)),
    );
    for (let s = 0; s < 3; s++) optA.applyGradients(grads[s]!, 0.01 * (s + 1));
    const state: AdamWState = optA.exportState();
    expect(state.step).toBe(3);
    expect(Object.keys(state.tensors).sort()).toEqual(['m.0', 'm.1', 'v.0', 'v.1']);
    b.forEach((x, i) => x.assign(a[i]!));
    const optB = new AdamW(b, o);
    optB.importState(state);
    state.tensors['m.0']!.data.fill(123); // imported data must have been copied
    expect(optB.step).toBe(3);
    for (let s = 3; s < 6; s++) {
      optA.applyGradients(grads[s]!, 0.01 * (s + 1));
      optB.applyGradients(grads[s]!, 0.01 * (s + 1));
    }
    a.forEach((x, i) => expect(Array.from(b[i]!.dataSync())).toEqual(Array.from(x.dataSync())));
    tf.dispose([...init, ...a, ...b, ...grads.flat()]);
    optA.dispose();
    optB.dispose();
  });

  it('importState rejects mismatched state with InputError and changes nothing', () => {
    const w = tf.variable(tf.zeros([2, 2]));
    const opt = new AdamW([w]);
    const good = opt.exportState();
    const bad = (f: (s: AdamWState) => void): AdamWState => {
      const s: AdamWState = { step: 2, tensors: { ...good.tensors } };
      f(s);
      return s;
    };
    const cases: AdamWState[] = [
      bad((s) => { s.tensors['m.0'] = { dtype: 'float32', shape: [4], data: new Float32Array(4) }; }),
      bad((s) => { s.tensors['v.0'] = { dtype: 'float32', shape: [2, 2], data: new Float32Array(3) }; }),
      bad((s) => { delete s.tensors['v.0']; }),
      bad((s) => { s.tensors['m.1'] = { dtype: 'float32', shape: [2, 2], data: new Float32Array(4) }; }),
      bad((s) => { s.step = -1; }),
    ];
    for (const c of cases) expect(() => opt.importState(c)).toThrow(InputError);
    expect(opt.step).toBe(0);
    opt.dispose();
    w.dispose();
  });

  it('validates options and gradients', () => {
    const w = tf.variable(tf.zeros([2]));
    expect(() => new AdamW([w], { learningRate: -1 })).toThrow(ConfigError);
    expect(() => new AdamW([w], { beta1: 1 })).toThrow(ConfigError);
    expect(() => new AdamW([w], { beta2: Number.NaN })).toThrow(ConfigError);
    expect(() => new AdamW([w], { epsilon: 0 })).toThrow(ConfigError);
    expect(() => new AdamW([w], { weightDecay: -0.1 })).toThrow(ConfigError);
    expect(() => new AdamW([w], { epsilonPlacement: 'keras' as never })).toThrow(/epsilonPlacement/);
    const opt = new AdamW([w]);
    const g = tf.zeros([3]);
    expect(() => opt.applyGradients([g])).toThrow(InputError);
    expect(() => opt.applyGradients([])).toThrow(InputError);
    expect(() => opt.applyGradients([g.slice(0, 2)], Number.POSITIVE_INFINITY)).toThrow(InputError);
    expect(opt.step).toBe(0);
    tf.dispose([g, w]);
    opt.dispose();
  });

  it('does not leak tensors across steps', () => {
    const vars = [tf.variable(tf.ones([8, 4])), tf.variable(tf.ones([4]))];
    const grads = [tf.fill([8, 4], 0.5), tf.fill([4], -0.25)];
    const opt = new AdamW(vars, { weightDecay: 0.01 });
    opt.applyGradients(grads);
    expectNoLeaks(() => {
      for (let s = 0; s < 5; s++) opt.applyGradients(grads, 1e-3 * s);
      opt.exportState();
      opt.importState(opt.exportState());
    });
    expectNoLeaks(() => opt.dispose(), { kept: -4 }); // frees exactly the 2 x 2 moments
    tf.dispose([...vars, ...grads]);
  });
});
