/**
 * Tool calls during decoding: per row, watches the decoded text for a tool's `end` marker, runs the
 * tool on the text since the matching `start`, and queues the result's tokens for the decoding loop
 * to feed (one per step, through the KV cache) instead of sampling. Rows are independent: a row that
 * calls no tool samples every step as without tools.
 * @internal
 * @module
 */
import type { Tokenizer } from '../tokenizers/tokenizer';
import { runToolSafely, type Tool } from './tool';

interface RowState {
  /** Index in the row's tokens where the text not yet consumed by a call begins. */
  scanFrom: number;
  /** Tool-written tokens still to feed, in order. */
  pending: number[];
  calls: number;
  errors: number;
}

/** Tool-call state of a batch of rows being decoded. @internal */
export class ToolRunner {
  private readonly rows: RowState[];

  /**
   * @param tools - the tools (checked by the caller).
   * @param tokenizer - decodes the row's tokens to find markers and encodes tool results.
   * @param maxToolCalls - most calls per row; later `end` markers are left as plain text.
   * @param batch - number of rows.
   */
  constructor(
    private readonly tools: readonly Tool[],
    private readonly tokenizer: Tokenizer,
    private readonly maxToolCalls: number,
    batch: number,
  ) {
    this.rows = Array.from({ length: batch }, () => ({ scanFrom: 0, pending: [], calls: 0, errors: 0 }));
  }

  /** The next tool-written token of row `b` to feed, if any (removed from the queue). */
  nextForced(b: number): number | undefined {
    return (this.rows[b] as RowState).pending.shift();
  }

  /** Tool calls made per row. */
  get calls(): number[] {
    return this.rows.map((r) => r.calls);
  }

  /** Tool calls per row whose result was an `error: ...` text (or a throw). */
  get errors(): number[] {
    return this.rows.map((r) => r.errors);
  }

  /** The call completed by the row's newest sampled token, if its text now holds an `end` marker. */
  private findCall(row: RowState, tokens: readonly number[]): { tool: Tool; input: string } | 'consumed' | undefined {
    const text = this.tokenizer.decode(tokens.slice(row.scanFrom));
    let best: { tool: Tool; at: number } | undefined;
    for (const tool of this.tools) {
      const at = text.indexOf(tool.end);
      if (at >= 0 && (best === undefined || at < best.at)) best = { tool, at };
    }
    if (best === undefined) return undefined;
    const before = text.slice(0, best.at);
    const open = before.lastIndexOf(best.tool.start);
    if (open < 0 || row.calls >= this.maxToolCalls) return 'consumed';
    return { tool: best.tool, input: before.slice(open + best.tool.start.length) };
  }

  /**
   * Checks the rows that just sampled a token (`sampled[b]`) and runs the completed calls, concurrently
   * across rows. `tokens[b]` is row `b`'s output so far (tool tokens included).
   */
  async afterStep(tokens: readonly (readonly number[])[], sampled: readonly boolean[]): Promise<void> {
    const work: Promise<void>[] = [];
    tokens.forEach((row, b) => {
      const state = this.rows[b] as RowState;
      if (!sampled[b]) return;
      const call = this.findCall(state, row);
      if (call === undefined) return;
      state.scanFrom = row.length;
      if (call === 'consumed') return;
      state.calls++;
      work.push(runToolSafely(call.tool, call.input).then(({ text, error }) => {
        if (error) state.errors++;
        state.pending.push(...this.tokenizer.encode(text));
        state.scanFrom = row.length + state.pending.length;
      }));
    });
    await Promise.all(work);
  }
}
