import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { setupBackend } from './backend';
import { expectNoLeaks } from './leaks';
beforeAll(setupBackend);
describe('expectNoLeaks', () => {
  it('passes on no leak, fails on a leak, handles async and kept', async () => {
    expect(expectNoLeaks(() => tf.tidy(() => tf.scalar(1).add(1).dataSync()[0]))).toBe(2);
    expect(() => expectNoLeaks(() => tf.scalar(1))).toThrow();
    const t = expectNoLeaks(() => tf.scalar(3), { kept: 1 }); t.dispose();
    await expect(expectNoLeaks(async () => { await Promise.resolve(); return tf.scalar(1); })).rejects.toThrow();
    expect(await expectNoLeaks(async () => 5)).toBe(5);
  });
});
