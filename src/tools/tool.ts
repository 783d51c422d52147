/**
 * The contract between a policy and a tool it may call while generating: the policy writes
 * `start`, the tool's input, then `end`; the runtime runs the tool on the text in between and writes
 * the result right after `end`, and decoding goes on from there (see `GenerateOptions.tools`).
 * @module
 */
import { ConfigError } from '../errors';

/**
 * A tool the policy calls by writing `start` + input + `end` in its output.
 *
 * `run` gets the text between the markers and returns the text to insert after `end`. It should not
 * throw: failures are returned as text (e.g. `"error: division by zero"`) for the model to see; if it
 * throws anyway, the runtime inserts `error: <message>` (cut to 200 characters) and counts the error.
 */
export interface Tool {
  /** Short name, e.g. `"calculator"` (reported in stats and logs). */
  readonly name: string;
  /** The marker that opens a call, e.g. `"<calc>"`; a non-empty string. */
  readonly start: string;
  /** The marker that closes a call and triggers the tool, e.g. `"</calc>"`; non-empty, differs from `start`. */
  readonly end: string;
  /** Runs the tool on the text between the markers; returns the text inserted after `end`. */
  run(input: string): string | Promise<string>;
}

/**
 * Checks a list of tools (names unique, markers non-empty strings, no marker shared by two tools);
 * throws {@link ConfigError} naming the bad field.
 * @param name - the option name used in errors, e.g. `"GenerateOptions.tools"`.
 * @param tools - the value to check.
 * @internal
 */
export function checkTools(name: string, tools: unknown): readonly Tool[] {
  if (!Array.isArray(tools)) throw new ConfigError(name, tools, 'must be an array of Tool objects');
  const markers = new Set<string>();
  const names = new Set<string>();
  tools.forEach((t: unknown, i) => {
    const at = `${name}[${i}]`;
    if (typeof t !== 'object' || t === null) throw new ConfigError(at, t, 'must be a Tool { name, start, end, run }');
    const tool = t as Record<string, unknown>;
    if (typeof tool.name !== 'string' || tool.name === '') throw new ConfigError(`${at}.name`, tool.name, 'must be a non-empty string');
    if (names.has(tool.name)) throw new ConfigError(`${at}.name`, tool.name, 'is used by two tools');
    names.add(tool.name);
    for (const k of ['start', 'end'] as const) {
      const m = tool[k];
      if (typeof m !== 'string' || m === '') throw new ConfigError(`${at}.${k}`, m, 'must be a non-empty string');
      if (markers.has(m)) throw new ConfigError(`${at}.${k}`, m, 'is a marker of another tool (or both markers of this one)');
      markers.add(m);
    }
    if (typeof tool.run !== 'function') throw new ConfigError(`${at}.run`, tool.run, 'must be a function (input: string) => string | Promise<string>');
  });
  return tools as readonly Tool[];
}

/**
 * Runs `tool` on `input`, never throwing: a throw or rejected promise becomes `error: <message>`
 * (message cut to 200 characters), a non-string result becomes `error: tool returned no text`.
 * @returns the text to insert and whether it is an error (starts with `error:`).
 * @internal
 */
export async function runToolSafely(tool: Tool, input: string): Promise<{ text: string; error: boolean }> {
  let text: string;
  try {
    const out = await tool.run(input);
    text = typeof out === 'string' ? out : 'error: tool returned no text';
  } catch (e) {
    text = `error: ${String(e instanceof Error ? e.message : e).slice(0, 200)}`;
  }
  return { text, error: text.startsWith('error:') };
}
