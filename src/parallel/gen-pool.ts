/**
 * `GenerationPool`: a policy's generation workers (`GenerateOptions.workers`). A batch's rows are split
 * into contiguous shards, the main thread decoding the first and each worker (./gen-worker) one more,
 * all with the KV cache, their random draws scheduled by ./lockstep so every row gets the tokens it
 * would get in-process (up to float rounding from the shards' own padding). Workers hold replicas of the
 * policy: weights cross when they start and again only when a variable of the policy was reassigned
 * since (each assignment gives a variable a new data id, so the check reads no weights).
 * @internal
 * @module
 */
import { WorkerError } from '../errors';
import type { Rng } from '../ops/random';
import type { TransformerPolicy } from '../models/policy';
import { generateTokens } from '../models/decode';
import type { GenerateResult, ResolvedGenerateOptions } from '../generation/generate';
import { spawnWorker } from './channel';
import type { WorkerHandle } from './handle';
import { DrawLockstep, lockstepBuffer } from './lockstep';
import { shardRanges } from './options';
import { dataVersions, sameVersions } from './versions';
import type { WorkerMemory } from './protocol';
import type { FromGen, PlainGenerateOptions, ToGen } from './gen-protocol';

type Handle = WorkerHandle<ToGen, FromGen>;

function merge(parts: GenerateResult[]): GenerateResult {
  return {
    tokens: parts.flatMap((p) => p.tokens), logProbs: parts.flatMap((p) => p.logProbs),
    fromTool: parts.flatMap((p) => p.fromTool ?? p.tokens.map((t) => t.map(() => false))),
    toolCalls: parts.flatMap((p) => p.toolCalls ?? p.tokens.map(() => 0)), toolErrors: parts.flatMap((p) => p.toolErrors ?? p.tokens.map(() => 0)),
  };
}

/** A policy's generation workers; see the module notes. */
export class GenerationPool {
  private handles: Handle[] | undefined;
  private held: object[] = [];
  private gen = 0;

  constructor(private readonly policy: TransformerPolicy) {}

  private async start(workers: number): Promise<Handle[]> {
    const bytes = this.policy.toSafetensors();
    const hs: Handle[] = [];
    try {
      for (let i = 1; i <= workers; i++) hs.push(await spawnWorker<ToGen, FromGen>('gen', i, { policy: bytes, index: i }));
      await Promise.all(hs.map((h) => h.ready()));
    } catch (e) {
      await Promise.all(hs.map((h) => h.terminate()));
      throw e;
    }
    this.held = dataVersions(this.policy.trainableVariables);
    return hs;
  }

  /** `workers` live workers holding the policy's current weights. */
  private async ensure(workers: number): Promise<Handle[]> {
    if (this.handles !== undefined && (this.handles.length !== workers || this.handles.some((h) => h.failure !== undefined))) await this.dispose();
    this.handles ??= await this.start(workers);
    const now = dataVersions(this.policy.trainableVariables);
    if (!sameVersions(this.held, now)) {
      const weights = this.policy.trainableVariables.map((v) => Float32Array.from(v.dataSync() as Float32Array));
      const hs = this.handles;
      await this.guard(Promise.all(hs.map((h) => { const r = h.expect('synced'); h.post({ type: 'sync', weights }); return r; })));
      this.held = now;
    }
    return this.handles;
  }

  private async guard<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      if (e instanceof WorkerError) await this.dispose();
      throw e;
    }
  }

  /**
   * Generates `prompts` (already validated) over `replicas` shards, advancing `rng` as the in-process
   * loop would. A failing worker fails the call with a `WorkerError` and ends the pool.
   */
  async generate(prompts: readonly (readonly number[])[], o: ResolvedGenerateOptions, rng: Rng, replicas: number): Promise<GenerateResult> {
    const hs = await this.ensure(replicas - 1);
    const ranges = shardRanges(prompts.length, replicas);
    const lockstep = lockstepBuffer(replicas, o.maxNewTokens);
    const s0 = rng.getState().s;
    const lock = new DrawLockstep(lockstep, 0, replicas, o.maxNewTokens, s0);
    const { onToken: _p, tools: _t, tokenizer: _k, ...plain } = o;
    const options: PlainGenerateOptions = plain;
    const gen = ++this.gen;
    const failed = (e: unknown): never => { lock.abort(); throw e; };
    const theirs = hs.map((h, i) => {
      const reply = h.expect('generated', gen).then((m) => m.result, failed);
      const [a, b] = ranges[i + 1] as [number, number];
      h.post({ type: 'generate', gen, shard: { prompts: prompts.slice(a, b).map((p) => [...p]), options, lockstep, shard: i + 1, shards: replicas, s0 } });
      return reply;
    });
    const [a0, b0] = ranges[0] as [number, number];
    const mine = generateTokens(this.policy.model, prompts.slice(a0, b0), { ...o, tools: [] }, rng, lock).catch(failed);
    const all = await Promise.allSettled([mine, ...theirs]);
    const errors = all.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length > 0) {
      // The first error that is not another shard reporting the abort it saw.
      const first = errors.find((e) => !(e instanceof WorkerError && /another shard/.test(e.message))) ?? errors[0];
      if (errors.some((e) => e instanceof WorkerError)) await this.dispose();
      throw first;
    }
    rng.skip(await lock.total());
    return merge(all.map((r) => (r as PromiseFulfilledResult<GenerateResult>).value));
  }

  /** Memory of each worker (empty when none runs). */
  async memory(): Promise<WorkerMemory[]> {
    const hs = this.handles ?? [];
    return this.guard(Promise.all(hs.map(async (h) => { const r = h.expect('stats'); h.post({ type: 'stats' }); return (await r).memory; })));
  }

  /** Test hook: makes worker `index` (1-based) throw or exit at its next shard. */
  injectFault(index: number, how: 'throw' | 'exit'): void {
    this.handles?.[index - 1]?.post({ type: 'crash', how });
  }

  /** Ends the workers (a later call starts fresh ones); never throws. */
  async dispose(): Promise<void> {
    const hs = this.handles;
    this.handles = undefined;
    this.held = [];
    await Promise.all((hs ?? []).map((h) => h.terminate().catch(() => undefined)));
  }
}
