import { describe, expect, it } from 'vitest';
import { formatDuration, formatProgress, progressLogger } from '../../src/logging/progress';
import { TransformerPolicy } from '../../src/models/policy';
import { LMTrainer } from '../../src/train/lm-trainer';
import { setupBackend } from '../helpers/backend';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns: 100, write: (c: string) => chunks.push(c) } };
}

describe('progressLogger', () => {
  it('formats rate, ETA and info', () => {
    expect(formatDuration(65)).toBe('1:05');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatProgress({ task: 'ppo', done: 5, total: 10, unit: 'step', info: { kl: 0.1234 } }, 2, 10))
      .toBe('ppo [#####-----] 5/10 2.00 step/s ETA 0:03 kl=0.1234');
  });

  it('draws an in-place bar on a terminal and plain lines otherwise', () => {
    let t = 0;
    const tty = sink(true);
    const a = progressLogger({ stream: tty.stream, now: () => t });
    for (let i = 1; i <= 3; i++) { t += 1000; a.progress!({ task: 'sft', done: i, total: 3, unit: 'step' }); }
    expect(tty.chunks.every((c) => c.startsWith('\r\x1b[2K'))).toBe(true);
    expect(tty.chunks.at(-1)).toContain('3/3 1.00 step/s ETA 0:00');
    expect(tty.chunks.at(-1)!.endsWith('\n')).toBe(true);
    const pipe = sink(false);
    const b = progressLogger({ stream: pipe.stream, every: 2, now: () => t });
    for (let i = 1; i <= 5; i++) b.progress!({ task: 'lm', done: i, total: 5 });
    expect(pipe.chunks.map((c) => c.split(' ')[1])).toEqual(['2/5', '4/5', '5/5']);
    expect(pipe.chunks.every((c) => !c.includes('\r') && c.endsWith('\n'))).toBe(true);
  });

  it('prints warnings (clearing the bar first) and drops info by default', () => {
    const tty = sink(true);
    const l = progressLogger({ stream: tty.stream });
    l.progress!({ task: 'ppo', done: 1, total: 4 });
    l.log('info', 'ppo step', { x: 1 });
    l.log('warn', 'negative mean KL', { step: 1 });
    expect(tty.chunks.join('')).not.toContain('ppo step');
    expect(tty.chunks.at(-1)).toBe('[warn] negative mean KL {"step":1}\n');
    expect(tty.chunks.at(-2)).toBe('\r\x1b[2K');
  });

  it('trainers report progress through the logger', async () => {
    await setupBackend();
    const pipe = sink(false);
    const policy = TransformerPolicy.fromPreset('tiny', 20);
    const trainer = new LMTrainer({ policy, batchSize: 2, sequenceLength: 8, logger: progressLogger({ stream: pipe.stream, every: 1 }) });
    await trainer.train(Array.from({ length: 40 }, (_, i) => i % 20), { steps: 3 });
    expect(pipe.chunks).toHaveLength(3);
    expect(pipe.chunks[2]).toMatch(/^lm 3\/3 .* step\/s ETA .* loss=/);
    policy.dispose();
  });
});
