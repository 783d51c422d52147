import { describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { useBackend } from '../../src/backends/use-backend';
import { unsortedSegmentSumValues } from '../../src/backends/wasm-kernels';
import { BackendError, ConfigError } from '../../src/errors';
import { TransformerPolicy } from '../../src/models/policy';
import { leftPad } from '../../src/models/batch';

async function logitsAndGrads(backend: 'cpu' | 'wasm') {
  await useBackend(backend);
  const p = TransformerPolicy.fromPreset('tiny', 40, { seed: 3 });
  const batch = leftPad([[1, 2, 3, 4, 5], [6, 7]], 0);
  const logits = tf.tidy(() => p.model.logits(p.hidden(batch)).arraySync());
  const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(p.tokenLogProbs(batch, { from: 3 }))) as tf.Scalar, p.trainableVariables);
  const g = p.trainableVariables.map((v) => Array.from(grads[v.name]!.dataSync()));
  tf.dispose([value, ...Object.values(grads)]);
  p.dispose();
  return { logits, g };
}

describe('useBackend', () => {
  it('sets cpu and wasm and returns the name; auto picks wasm in Node without tfjs-node', async () => {
    expect(await useBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(await useBackend('wasm')).toBe('wasm');
    expect(await useBackend('auto')).toBe('wasm');
  });

  it('throws typed errors for unknown or missing backends', async () => {
    await expect(useBackend('tpu' as never)).rejects.toThrow(ConfigError);
    // tfjs-node is an optional peer that cannot be installed on this machine (no network for its binary).
    await expect(useBackend('tensorflow')).rejects.toThrow(BackendError);
  });

  it('wasm and cpu agree on logits and gradients of the same model (the wasm kernels are right)', async () => {
    const cpu = await logitsAndGrads('cpu');
    const wasm = await logitsAndGrads('wasm');
    const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x as number]);
    const a = flat(cpu.logits);
    const b = flat(wasm.logits);
    a.forEach((x, i) => expect(Math.abs(x - (b[i] as number))).toBeLessThan(1e-4));
    cpu.g.forEach((row, k) => row.forEach((x, i) => expect(Math.abs(x - (wasm.g[k]![i] as number))).toBeLessThan(1e-4)));
  });

  it('UnsortedSegmentSum replacement sums rows per segment and drops out-of-range ids', () => {
    const out = unsortedSegmentSumValues([1, 2, 3, 4, 5, 6, 7, 8], [0, 2, 0, 9], 2, 3);
    expect(Array.from(out)).toEqual([1 + 5, 2 + 6, 0, 0, 3, 4]);
  });
});
