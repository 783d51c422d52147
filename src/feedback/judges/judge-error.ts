/**
 * The error a {@link JudgeLabeler} throws when its judge fails: it carries the judge's raw answer so
 * nothing is guessed and the failure can be inspected.
 * @module
 */
import { RlhfError } from '../../errors';

/** A judge failed to rank an item: HTTP error, timeout, unreadable answer, incomplete ranking, bad scores. */
export class JudgeError extends RlhfError {
  constructor(
    /** The labeller's name, e.g. `"judge:llama3"`. */
    readonly judge: string,
    /** Id of the item being judged (`LabelRequest.id`). */
    readonly itemId: string,
    /** What went wrong, e.g. `"response 3 is missing from the ranking"`. */
    readonly reason: string,
    /** The judge's raw answer (the HTTP body or the model's text), when there was one. */
    readonly raw?: string,
    /** The underlying error, when there was one. */
    override readonly cause?: unknown,
  ) {
    super(`${judge} on item ${JSON.stringify(itemId)}: ${reason}${raw === undefined ? '' : ` (answer: ${JSON.stringify(raw.length > 200 ? `${raw.slice(0, 197)}...` : raw)})`}`);
  }
}
