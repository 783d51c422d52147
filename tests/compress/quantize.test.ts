import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { RewardModel } from '../../src/reward/reward-model';
import { leftPad } from '../../src/models/batch';
import { ConfigError, FileFormatError } from '../../src/errors';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors';
import { dequantizeMatrix, quantizeMatrix, type ScaleKind } from '../../src/compress/int8';
import { quantize } from '../../src/compress/quantize';
import { setupBackend } from '../helpers/backend';

let dir: string;
beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(join(tmpdir(), 'rlhf-quant-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const CONFIG = { vocabSize: 17, contextLength: 16, nLayer: 2, nHead: 2, dModel: 32, seed: 3 };
const ROWS = [[1, 2, 3, 4, 5], [6, 7], [16, 0, 9, 9]];

async function logits(p: TransformerPolicy, rows = ROWS): Promise<Float32Array> {
  const t = tf.tidy(() => p.model.logits(p.hidden(leftPad(rows, 0))));
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

const matrix = fc.integer({ min: 1, max: 12 }).chain((dIn) => fc.integer({ min: 1, max: 12 }).chain((dOut) =>
  fc.tuple(fc.constant(dIn), fc.constant(dOut), fc.float32Array({ minLength: dIn * dOut, maxLength: dIn * dOut, noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }))));

describe('int8 quantization math', () => {
  for (const kind of ['step', 'absmax'] as ScaleKind[]) {
    it(`${kind}: |w - ŵ| <= step/2 per element, q in [-127, 127], each column's absmax maps to ±127`, () => {
      fc.assert(fc.property(matrix, ([dIn, dOut, w]) => {
        const m = quantizeMatrix(w, dIn, dOut, kind);
        const back = dequantizeMatrix(m);
        for (let o = 0; o < dOut; o++) {
          const step = kind === 'step' ? (m.scale[o] as number) : (m.scale[o] as number) / 127;
          let maxQ = 0;
          for (let i = 0; i < dIn; i++) {
            const k = i * dOut + o;
            const q = m.q[k] as number;
            expect(Math.abs(q)).toBeLessThanOrEqual(127);
            maxQ = Math.max(maxQ, Math.abs(q));
            expect(Math.abs((w[k] as number) - (back[k] as number))).toBeLessThanOrEqual(step / 2 * (1 + 1e-6) + 2 ** -120); // slack only for subnormal weights
          }
          const nonZero = Array.from({ length: dIn }, (_, i) => w[i * dOut + o] as number).some((x) => x !== 0);
          if (nonZero && step > 2 ** -120) expect(maxQ).toBe(127);
        }
      }), { numRuns: 200 });
    });
  }

  it('outlier rows are kept exactly in float32 and zero in the int8 part; re-quantizing ŵ is a fixed point', () => {
    fc.assert(fc.property(matrix, fc.integer({ min: 0, max: 11 }), ([dIn, dOut, w], r) => {
      const rows = Int32Array.from([r % dIn]);
      const m = quantizeMatrix(w, dIn, dOut, 'step', rows);
      const back = dequantizeMatrix(m);
      for (let o = 0; o < dOut; o++) {
        expect(back[(r % dIn) * dOut + o]).toBe(w[(r % dIn) * dOut + o]);
        expect(m.q[(r % dIn) * dOut + o]).toBe(0);
      }
      const again = quantizeMatrix(back, dIn, dOut, 'step', rows);
      expect(Array.from(again.q)).toEqual(Array.from(m.q));
    }), { numRuns: 100 });
  });

  it('safetensors I8 round trip (property), and rejects an Int32Array labelled int8', () => {
    fc.assert(fc.property(fc.int8Array({ minLength: 0, maxLength: 40 }), (data) => {
      const back = decodeSafetensors(encodeSafetensors({ q: { dtype: 'int8', shape: [data.length], data } }));
      const t = back.tensors.q;
      expect(t?.dtype).toBe('int8');
      expect(t?.data).toBeInstanceOf(Int8Array);
      expect(Array.from(t?.data ?? [])).toEqual(Array.from(data));
    }), { numRuns: 50 });
    const bytes = encodeSafetensors({ q: { dtype: 'int8', shape: [2], data: Int8Array.from([-127, 5]) } });
    expect(new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getUint32(0, true))))).toContain('"dtype":"I8"');
    expect(() => encodeSafetensors({ q: { dtype: 'int8', shape: [1], data: Int32Array.from([1]) } })).toThrow(/Int8Array/);
  });
});

describe('quantize(model)', () => {
  it('keeps outputs close, saves I8 + scales at <= 0.4x the bytes, and load reproduces the outputs exactly', async () => {
    const before = tf.memory().numTensors;
    const p = new TransformerPolicy(CONFIG);
    const q = quantize(p, { scheme: 'per-channel' });
    expect(q).toBeInstanceOf(TransformerPolicy);
    const [a, b] = [await logits(p), await logits(q)];
    const maxDiff = a.reduce((m, x, i) => Math.max(m, Math.abs(x - (b[i] as number))), 0);
    expect(maxDiff).toBeGreaterThan(0);
    expect(maxDiff).toBeLessThan(0.02);
    await p.save(join(dir, 'f32'));
    await q.save(join(dir, 'i8'));
    const [f32, i8] = [(await stat(join(dir, 'f32/model.safetensors'))).size, (await stat(join(dir, 'i8/model.safetensors'))).size];
    expect(i8 / f32).toBeLessThan(0.4);
    const { tensors, metadata } = decodeSafetensors(await readFile(join(dir, 'i8/model.safetensors')));
    expect(tensors['h.0.mlp.c_fc.weight']?.dtype).toBe('int8');
    expect(tensors['h.0.mlp.c_fc.weight.scale']?.shape).toEqual([128]);
    expect(tensors['wte.weight']?.dtype).toBe('float32');
    expect(metadata['tfjs-rlhf.quantization']).toBe('int8-per-channel-sym');
    const r = await TransformerPolicy.load(join(dir, 'i8'));
    expect(await logits(r)).toEqual(b);
    // a re-save of the loaded model is byte-identical (the int8 form survives load and clone)
    const c = r.clone();
    expect(Buffer.from(c.toSafetensors()).equals(await readFile(join(dir, 'i8/model.safetensors')))).toBe(true);
    for (const m of [p, q, r, c]) m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('embeddings: true stores wte and wpe as int8 too (smaller file), close outputs, identical after a reload', async () => {
    const before = tf.memory().numTensors;
    const p = new TransformerPolicy({ ...CONFIG, vocabSize: 300 }); // embeddings are most of this model
    const blocks = quantize(p);
    const all = quantize(p, { embeddings: true });
    const ids = [[1, 200, 3, 299, 5], [6, 7]];
    const [a, b] = [await logits(p, ids), await logits(all, ids)];
    const maxDiff = a.reduce((m, x, i) => Math.max(m, Math.abs(x - (b[i] as number))), 0);
    expect(maxDiff).toBeGreaterThan(0);
    expect(maxDiff).toBeLessThan(0.05);
    const { tensors } = decodeSafetensors(all.toSafetensors());
    expect(tensors['wte.weight']?.dtype).toBe('int8');
    expect(tensors['wte.weight.scale']?.shape).toEqual([32]);
    expect(tensors['wpe.weight']?.dtype).toBe('int8');
    expect(all.toSafetensors().length).toBeLessThan(0.6 * blocks.toSafetensors().length);
    await all.save(join(dir, 'emb'));
    const r = await TransformerPolicy.load(join(dir, 'emb'));
    expect(await logits(r, ids)).toEqual(b);
    expect(() => quantize(p, { embeddings: 'yes' as unknown as boolean })).toThrow(/QuantizeOptions\.embeddings/);
    for (const m of [p, blocks, all, r]) m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('vector-wise writes bitsandbytes names ([out, in] + .SCB) and reads back identically; outliers stay float', async () => {
    const p = new TransformerPolicy(CONFIG);
    const calibration = [[1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11]];
    const q = quantize(p, { scheme: 'vector-wise', outlierThreshold: 1.5, calibration });
    const { tensors, metadata } = decodeSafetensors(q.toSafetensors());
    expect(tensors['h.1.attn.c_attn.weight']?.shape).toEqual([96, 32]);
    expect(tensors['h.1.attn.c_attn.SCB']?.shape).toEqual([96]);
    expect(metadata['tfjs-rlhf.quantization']).toBe('int8-vector-wise-sym');
    expect(Object.keys(tensors).some((k) => k.endsWith('.outlier_rows'))).toBe(true);
    const r = TransformerPolicy.fromSafetensors(q.toSafetensors());
    expect(await logits(r)).toEqual(await logits(q));
    for (const m of [p, q, r]) m.dispose();
  });

  it('works on a reward model: same class, close scores, identical after a round trip', async () => {
    const rm = new RewardModel(CONFIG);
    rm.setNormalization({ gain: 2, bias: 0.5 });
    const q = quantize(rm);
    expect(q).toBeInstanceOf(RewardModel);
    expect(q.normalization).toEqual({ gain: 2, bias: 0.5 });
    const prompts = [[1, 2], [3]];
    const responses = [[4, 5, 6], [7, 8]];
    const [s0, s1] = [await rm.score(prompts, responses), await q.score(prompts, responses)];
    s0.forEach((s, i) => expect(Math.abs(s - (s1[i] as number))).toBeLessThan(0.05));
    await q.save(join(dir, 'rm'));
    const r = await RewardModel.load(join(dir, 'rm'));
    expect(await r.score(prompts, responses)).toEqual(s1);
    for (const m of [rm, q, r]) m.dispose();
  });

  it('a quantized model trained further saves its changed weights as float32', async () => {
    const q = quantize(new TransformerPolicy(CONFIG));
    const v = q.model.p('h.0.mlp.c_fc.weight');
    tf.tidy(() => v.assign(tf.add(v, 1e-3)));
    const { tensors } = decodeSafetensors(q.toSafetensors());
    expect(tensors['h.0.mlp.c_fc.weight']?.dtype).toBe('float32');
    expect(tensors['h.0.mlp.c_proj.weight']?.dtype).toBe('int8');
    q.dispose();
  });

  it('rejects bad options and int8 files without scales', () => {
    const p = new TransformerPolicy(CONFIG);
    expect(() => quantize(p, { bits: 4 as 8 })).toThrow(ConfigError);
    expect(() => quantize(p, { scheme: 'per-tensor' as 'per-channel' })).toThrow(/scheme/);
    expect(() => quantize(p, { outlierThreshold: 6 })).toThrow(/calibration/);
    expect(() => quantize(p, { outlierThreshold: 6, calibration: [[99]] })).toThrow(ConfigError);
    const { tensors, metadata } = decodeSafetensors(quantize(p).toSafetensors());
    delete tensors['h.0.attn.c_proj.weight.scale'];
    const broken = encodeSafetensors(tensors, metadata);
    expect(() => TransformerPolicy.fromSafetensors(broken, undefined, 'x.safetensors')).toThrow(FileFormatError);
    expect(() => TransformerPolicy.fromSafetensors(broken, undefined, 'x.safetensors')).toThrow(/h\.0\.attn\.c_proj\.weight\.scale/);
    p.dispose();
  });
});
