// WorkerHandle over a fake Channel: start-up succeeds on `ready`, fails with a typed WorkerError on a
// worker that stays silent (timeout), throws, exits, or reports an error; never hangs.
import { describe, expect, it } from 'vitest';
import { WorkerHandle } from '../../src/parallel/handle';
import type { Channel, ChannelEvents } from '../../src/parallel/channel';
import { WorkerError } from '../../src/errors';

function fakeChannel(): { channel: Channel; events: () => ChannelEvents } {
  let on: ChannelEvents | undefined;
  const channel: Channel = {
    post: () => undefined,
    listen: (e) => { on = e; },
    ref: () => undefined,
    unref: () => undefined,
    terminate: async () => undefined,
  };
  return { channel, events: () => on as ChannelEvents };
}

describe('WorkerHandle start-up', () => {
  it('resolves when the worker says ready', async () => {
    const { channel, events } = fakeChannel();
    const h = new WorkerHandle(1, channel);
    const ready = h.ready(1000);
    events().message({ type: 'ready' });
    await expect(ready).resolves.toBeUndefined();
    expect(h.failure).toBeUndefined();
  });

  it('fails a silent worker with a timeout WorkerError, and the handle stays failed', async () => {
    const { channel } = fakeChannel();
    const h = new WorkerHandle(2, channel);
    const err = await h.ready(20).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as WorkerError).failure).toBe('timeout');
    expect((err as WorkerError).worker).toBe(2);
    expect((err as WorkerError).message).toBe('worker 2 timed out: no ready message within 0.02 s of starting');
    await expect(h.expect('grads')).rejects.toBe(err);
  });

  it.each([
    ['an uncaught error', (e: ChannelEvents) => e.error('TypeError', 'x is not a function', 'TypeError: x\n at w.js:1'), 'error', 'worker 1 threw: TypeError: x is not a function'],
    ['an exit', (e: ChannelEvents) => e.exit(3), 'exit', 'worker 1 died: the worker exited with code 3'],
    ['a reported throw', (e: ChannelEvents) => e.message({ type: 'error', name: 'Error', message: 'boom', stack: 'Error: boom' }), 'error', 'worker 1 threw: Error: boom'],
  ] as const)('fails start-up on %s', async (_, emit, failure, message) => {
    const { channel, events } = fakeChannel();
    const h = new WorkerHandle(1, channel);
    const ready = h.ready(5000);
    emit(events());
    const err = await ready.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as WorkerError).failure).toBe(failure);
    expect((err as WorkerError).message).toBe(message);
  });

  it('an exit after terminate() is not a failure', async () => {
    const { channel, events } = fakeChannel();
    const h = new WorkerHandle(1, channel);
    await h.terminate();
    events().exit(1);
    expect(h.failure).toBeUndefined();
  });
});
