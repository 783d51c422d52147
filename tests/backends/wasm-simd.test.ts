/**
 * The SIMD kernels (src/backends/simd/kernels.ll, built into simd-module.ts) against the TypeScript
 * math of fused-math.ts, on a memory of their own (property tests over lengths that exercise the
 * vector body and the scalar tail), on the wasm backend's heap, and the committed module against its
 * source where LLVM 14 is installed.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { tf } from '../../src/tf';
import { setupBackend } from '../helpers/backend';
import {
  adamwUpdate, columnSums, decodeAttention, geluBackward, geluForward, layerNormBackward, layerNormForward, selectedLogProbsBackward, selectedLogProbsForward, sumOfSquares,
} from '../../src/backends/fused-math';
import { setSimdKernels, simdKernels, simdKernelsFor, type SimdKernels } from '../../src/backends/wasm-simd';
import { internals } from '../../src/backends/wasm-heap';
import { TransformerPolicy } from '../../src/models/policy';

beforeAll(async () => {
  await setupBackend();
});
afterEach(() => setSimdKernels(true));

const memory = new WebAssembly.Memory({ initial: 4 });
const simd = simdKernelsFor(memory) as SimdKernels;

/** Lays arrays out one after another in `memory` (16-byte aligned); returns their byte offsets. */
function place(...arrays: Float32Array[]): number[] {
  let at = 64;
  return arrays.map((a) => {
    new Float32Array(memory.buffer, at, a.length).set(a);
    const o = at;
    at += Math.ceil((a.length * 4) / 16) * 16 + 16;
    return o;
  });
}
const read = (offset: number, n: number): Float32Array => Float32Array.from(new Float32Array(memory.buffer, offset, n));
const values = (n: number, seed: number, scale: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(seed + i * 12.9898) * scale);

function expectClose(a: Float32Array, b: Float32Array, tol: number): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  a.forEach((x, i) => { worst = Math.max(worst, Math.abs(x - (b[i] as number)) / (1 + Math.abs(b[i] as number))); });
  expect(worst).toBeLessThanOrEqual(tol);
}

const lengths = fc.record({ n: fc.integer({ min: 0, max: 41 }), seed: fc.integer({ min: 0, max: 1e6 }), scale: fc.constantFrom(0.5, 3, 12) });

describe('SIMD kernels (WebAssembly SIMD128)', () => {
  it('compile and instantiate in Node, on a memory of their own and on the wasm backend heap', () => {
    expect(simd).not.toBeNull();
    if (tf.getBackend() === 'wasm') expect(simdKernels(internals(tf.backend()))).not.toBeNull();
  });

  it('also run on a shared memory (the threaded tfjs-backend-wasm build) and compute the same there', () => {
    const sharedMemory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const onShared = simdKernelsFor(sharedMemory);
    expect(onShared).not.toBeNull();
    const x = values(37, 5, 3);
    new Float32Array(sharedMemory.buffer, 64, 37).set(x);
    onShared?.geluForward(64, 256, 512, 37);
    const [y, t] = [new Float32Array(37), new Float32Array(37)];
    geluForward(x, y, t);
    expectClose(Float32Array.from(new Float32Array(sharedMemory.buffer, 256, 37)), y, 3e-6);
  });

  it('turn NaN and infinite inputs into NaN outputs, never a trap (the NaN guards upstream see them)', () => {
    for (const n of [1, 3, 8, 13]) { // scalar tail only, vector body only, both
      for (const bad of [NaN, Infinity, -Infinity]) {
        const x = Float32Array.from({ length: n }, (_, i) => (i === n - 1 ? bad : 0.5));
        const [ox, oy, ot, o1, o2] = place(x, new Float32Array(n), new Float32Array(n), new Float32Array(n), new Float32Array(n)) as number[];
        simd.geluForward(ox as number, oy as number, ot as number, n);
        if (Number.isNaN(bad)) expect(read(oy as number, n)[n - 1]).toBeNaN();
        simd.rowMaxSumExp(ox as number, 1, n, o1 as number, o2 as number);
        if (Number.isNaN(bad)) expect(read(o2 as number, 1)[0]).toBeNaN();
        simd.layerNormForward(ox as number, ox as number, ox as number, 1e-5, 1, n, oy as number, ot as number, o1 as number);
        expect(Number.isFinite(read(oy as number, n)[0] as number)).toBe(false);
        simd.decodeAttention(ox as number, ox as number, ox as number, ox as number, 1, 1, 1, n, n, o1 as number, o2 as number);
        simd.adamw(ox as number, ox as number, ox as number, ox as number, oy as number, ot as number, o1 as number, n, 0.1, 0.1, 0.1, 1e-8, 1, 1);
        expect(Number.isFinite(read(oy as number, n)[n - 1] as number)).toBe(false);
      }
    }
  });

  it('GELU forward and backward equal the TypeScript math (1e-5: float32 lanes against float64; where tanh rounds to +-1 in float32, 1 - t^2 is 0)', () => {
    fc.assert(fc.property(lengths, ({ n, seed, scale }) => {
      const x = values(n, seed, scale);
      const dy = values(n, seed + 1, 1);
      const [y, t] = [new Float32Array(n), new Float32Array(n)];
      geluForward(x, y, t);
      const dx = new Float32Array(n);
      geluBackward(dy, x, t, dx);
      const [ox, oy, ot, ody, odx] = place(x, new Float32Array(n), new Float32Array(n), dy, new Float32Array(n)) as number[];
      simd.geluForward(ox as number, oy as number, ot as number, n);
      expectClose(read(oy as number, n), y, 3e-6);
      expectClose(read(ot as number, n), t, 3e-6);
      simd.geluBackward(ody as number, ox as number, ot as number, odx as number, n);
      expectClose(read(odx as number, n), dx, 1e-5);
    }), { numRuns: 60 });
  });

  it('the AdamW update equals the TypeScript math (1e-6), with and without decay and gradient scale', () => {
    fc.assert(fc.property(lengths, fc.constantFrom(1, 0.37), fc.constantFrom(1, 0.999), ({ n, seed }, gradScale, decay) => {
      const [w, m, g] = [values(n, seed, 1), values(n, seed + 1, 0.1), values(n, seed + 2, 2)];
      const v = values(n, seed + 3, 0.1).map((a) => a * a);
      const s = { c1: 0.1, c2: 0.001, stepSize: 1e-3, eps: 1e-8, decay, gradScale };
      const out = [new Float32Array(n), new Float32Array(n), new Float32Array(n)] as const;
      adamwUpdate(w, m, v, g, s, ...out);
      const o = place(w, m, v, g, new Float32Array(n), new Float32Array(n), new Float32Array(n)) as number[];
      simd.adamw(o[0] as number, o[1] as number, o[2] as number, o[3] as number, o[4] as number, o[5] as number, o[6] as number, n,
        s.c1, s.c2, s.stepSize, s.eps, s.decay, s.gradScale);
      out.forEach((want, i) => expectClose(read(o[4 + i] as number, n), want, 1e-6));
    }), { numRuns: 60 });
  });

  it('LayerNorm forward and backward equal the TypeScript math (5e-5: float32 sums against float64)', () => {
    const shapes = fc.record({ rows: fc.integer({ min: 0, max: 7 }), d: fc.integer({ min: 1, max: 37 }), seed: fc.integer({ min: 0, max: 1e6 }) });
    fc.assert(fc.property(shapes, ({ rows, d, seed }) => {
      const n = rows * d;
      const [x, gamma, beta, dy] = [values(n, seed, 3), values(d, seed + 1, 1), values(d, seed + 2, 1), values(n, seed + 3, 1)];
      const [y, xhat, rstd] = [new Float32Array(n), new Float32Array(n), new Float32Array(rows)];
      layerNormForward(x, gamma, beta, 1e-5, d, y, xhat, rstd);
      const [dx, dg, db] = [new Float32Array(n), new Float32Array(d), new Float32Array(d)];
      layerNormBackward(dy, xhat, rstd, gamma, d, dx, dg, db);
      const o = place(x, gamma, beta, new Float32Array(n), new Float32Array(n), new Float32Array(rows), dy,
        new Float32Array(n), Float32Array.from({ length: d }, () => 7), Float32Array.from({ length: d }, () => 7)) as number[];
      const at = (i: number): number => o[i] as number;
      simd.layerNormForward(at(0), at(1), at(2), 1e-5, rows, d, at(3), at(4), at(5));
      expectClose(read(at(3), n), y, 5e-5);
      expectClose(read(at(4), n), xhat, 5e-5);
      expectClose(read(at(5), rows), rstd, 5e-5);
      simd.layerNormBackward(at(6), at(4), at(5), at(1), rows, d, at(7), at(8), at(9));
      // dx is a difference of nearly equal terms times rstd (up to 1/sqrt(eps)): its error scales with rstd.
      expectClose(read(at(7), n), dx, 5e-5 * Math.max(1, ...rstd));
      expectClose(read(at(8), d), dg, 5e-5); // zeroed first: the 7s are overwritten
      expectClose(read(at(9), d), db, 5e-5);
    }), { numRuns: 60 });
  });

  it('the log-softmax pieces (row max and sum of exps, the scaled softmax) give the TypeScript log-probs and their backward (2e-6)', () => {
    const shapes = fc.record({ rows: fc.integer({ min: 0, max: 6 }), V: fc.integer({ min: 1, max: 45 }), seed: fc.integer({ min: 0, max: 1e6 }), scale: fc.constantFrom(1, 10, 60) });
    fc.assert(fc.property(shapes, ({ rows, V, seed, scale }) => {
      const logits = values(rows * V, seed, scale);
      const targets = Int32Array.from({ length: rows }, (_, r) => ((seed + r * 7) % (V + 2)) - 1); // some out of range
      const dy = values(rows, seed + 5, 1);
      const [logp, lse, dl] = [new Float32Array(rows), new Float32Array(rows), new Float32Array(rows * V)];
      selectedLogProbsForward(logits, targets, V, logp, lse);
      selectedLogProbsBackward(dy, logits, lse, targets, V, dl);
      const o = place(logits, new Float32Array(rows), new Float32Array(rows), dy, lse, new Float32Array(rows * V)) as number[];
      simd.rowMaxSumExp(o[0] as number, rows, V, o[1] as number, o[2] as number);
      const [mx, sums] = [read(o[1] as number, rows), read(o[2] as number, rows)];
      mx.forEach((m, r) => expect(m).toBe(Math.max(...logits.subarray(r * V, (r + 1) * V))));
      expectClose(Float32Array.from(mx, (m, r) => m + Math.log(sums[r] as number)), lse, 2e-6);
      simd.negScaledSoftmax(o[3] as number, o[0] as number, o[4] as number, rows, V, o[5] as number);
      const got = read(o[5] as number, rows * V);
      targets.forEach((t, r) => { if (t >= 0 && t < V) got[r * V + t] = (dy[r] as number) * (1 - Math.exp((logits[r * V + t] as number) - (lse[r] as number))); });
      expectClose(got, dl, 2e-6);
    }), { numRuns: 60 });
  });

  it('column sums and the sum of squares equal the TypeScript math (float64 accumulation: 1e-7)', () => {
    const shapes = fc.record({ rows: fc.integer({ min: 0, max: 9 }), cols: fc.integer({ min: 0, max: 23 }), seed: fc.integer({ min: 0, max: 1e6 }) });
    fc.assert(fc.property(shapes, ({ rows, cols, seed }) => {
      const x = values(rows * cols, seed, 3);
      const want = new Float32Array(cols);
      columnSums(x, rows, cols, want);
      const [ox, oout] = place(x, Float32Array.from({ length: cols }, () => 9)) as number[];
      simd.columnSums(ox as number, rows, cols, oout as number);
      expectClose(read(oout as number, cols), want, 1e-7);
      const sq = simd.sumSquares(ox as number, rows * cols);
      expect(Math.abs(sq - sumOfSquares([x]))).toBeLessThanOrEqual(1e-12 * (1 + sumOfSquares([x])));
    }), { numRuns: 60 });
  });

  it('decode attention (one query per group against the first Tk of cap cached keys, masked keys included) equals the TypeScript math (2e-6)', () => {
    const shapes = fc.record({ B: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 3 }), hd: fc.integer({ min: 1, max: 9 }), Tk: fc.integer({ min: 1, max: 21 }), room: fc.integer({ min: 0, max: 5 }), seed: fc.integer({ min: 0, max: 1e6 }) });
    fc.assert(fc.property(shapes, ({ B, H, hd, Tk, room, seed }) => {
      const [G, cap] = [B * H, Tk + room];
      const [q, kT, v] = [values(G * hd, seed, 1), values(G * hd * cap, seed + 1, 2), values(G * cap * hd, seed + 2, 2)];
      const bias = Float32Array.from({ length: B * Tk }, (_, i) => (i % Tk === 0 || (seed + i) % 3 !== 0 ? 0 : -1e9)); // key 0 always visible
      const [p, y] = [new Float32Array(G * Tk), new Float32Array(G * hd)];
      decodeAttention(q, kT, v, bias, H, hd, Tk, cap, p, y);
      const o = place(q, kT, v, bias, new Float32Array(G * Tk), new Float32Array(G * hd)) as number[];
      simd.decodeAttention(o[0] as number, o[1] as number, o[2] as number, o[3] as number, G, H, hd, Tk, cap, o[4] as number, o[5] as number);
      expectClose(read(o[4] as number, G * Tk), p, 2e-6);
      expectClose(read(o[5] as number, G * hd), y, 2e-6);
    }), { numRuns: 60 });
  });

  it("a policy's loss and every gradient agree with the SIMD kernels on and off (1e-5)", () => {
    const policy = new TransformerPolicy({ vocabSize: 37, contextLength: 12, nLayer: 2, nHead: 2, dModel: 16, seed: 3 });
    const [B, T] = [2, 8];
    const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 11 + 5) % 37);
    const batch = { ids, mask: new Int32Array(B * T).fill(1), batch: B, length: T };
    const vars = policy.trainableVariables;
    const lossAndGrads = (): Float32Array[] => {
      const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(policy.tokenLogProbs(batch, { from: 1 }))) as tf.Scalar, vars);
      const out = [value, ...vars.map((v) => grads[v.name] as tf.Tensor)].map((t) => Float32Array.from(t.dataSync() as Float32Array));
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const on = lossAndGrads();
    setSimdKernels(false);
    const off = lossAndGrads();
    expect(on.length).toBe(vars.length + 1);
    on.forEach((a, i) => expectClose(a, off[i] as Float32Array, 1e-5));
    policy.dispose();
  });
});

/** LLVM 14's opt and llc (the committed module is byte-for-byte what they build; other versions differ). */
function hasLlvm14(): boolean {
  const r = spawnSync('llc', ['--version'], { encoding: 'utf8' });
  return r.status === 0 && /LLVM version 14\./.test(r.stdout) && spawnSync('opt', ['--version']).status === 0;
}

// Skipped where LLVM 14 is not installed (CI installs only npm packages): the module is committed, built.
it.skipIf(!hasLlvm14())('the committed simd-module.ts is what kernels.ll builds to (LLVM 14)', () => {
  const out = execFileSync(process.execPath, [resolve(__dirname, '../../scripts/build-simd.mjs'), '--check'], { encoding: 'utf8' });
  expect(out).toContain('matches');
});
