/**
 * The `tfjs-rlhf-report` command: `tfjs-rlhf-report metrics.jsonl [--out dir] [--title t]` writes a
 * training report (see {@link writeReport}) and prints the files it wrote. Node.js only.
 * @module
 */
import { RlhfError } from '../errors';
import { writeReport } from './html-report';

/** Where {@link runReportCli} writes its output; each defaults to the process's stream. */
export interface ReportCliIo {
  /** Receives normal output (the files written, `--help`). */
  stdout?: (text: string) => void;
  /** Receives error messages. */
  stderr?: (text: string) => void;
}

/** Usage text of the `tfjs-rlhf-report` command. */
export const REPORT_CLI_USAGE = `Usage: tfjs-rlhf-report <metrics.jsonl> [--out <dir>] [--title <title>]

Writes report.html (self-contained: charts, samples, data) and one SVG per chart.

  --out, -o <dir>   output directory (default: "report" next to the metrics file)
  --title <title>   page title (default: "tfjs-rlhf training report")
  --help, -h        show this help
`;

interface CliArgs {
  input: string;
  out?: string;
  title?: string;
}

class UsageError extends Error {}

function processStream(name: 'stdout' | 'stderr'): (text: string) => void {
  return (text) => {
    const p = (globalThis as { process?: { stdout: { write(s: string): unknown }; stderr: { write(s: string): unknown } } }).process;
    p?.[name].write(text);
  };
}

/** Parses the arguments; `undefined` means `--help`. */
function parseArgs(argv: readonly string[]): CliArgs | undefined {
  const positional: string[] = [];
  const opts: { out?: string; title?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') return undefined;
    const m = /^(--out|-o|--title)(?:=(.*))?$/s.exec(arg);
    if (m !== null) {
      const value = m[2] ?? argv[++i];
      if (value === undefined || value === '') throw new UsageError(`${m[1]} needs a value`);
      if (m[1] === '--title') opts.title = value;
      else opts.out = value;
    } else if (arg.startsWith('-') && arg !== '-') {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  if (positional.length !== 1) throw new UsageError(positional.length === 0 ? 'missing the metrics file' : 'expected exactly one metrics file');
  return { input: positional[0] as string, ...opts };
}

/**
 * Runs the `tfjs-rlhf-report` command.
 * @param argv - The arguments after the program name (`process.argv.slice(2)`).
 * @param io - Output sinks; default `process.stdout` and `process.stderr`.
 * @returns The exit status: `0` on success, `1` when the report could not be made (malformed or
 *   missing file, write error), `2` for invalid arguments.
 */
export async function runReportCli(argv: readonly string[], io: ReportCliIo = {}): Promise<number> {
  const stdout = io.stdout ?? processStream('stdout');
  const stderr = io.stderr ?? processStream('stderr');
  let args: CliArgs | undefined;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    stderr(`tfjs-rlhf-report: ${e.message}\n\n${REPORT_CLI_USAGE}`);
    return 2;
  }
  if (args === undefined) {
    stdout(REPORT_CLI_USAGE);
    return 0;
  }
  try {
    const { dirname, join } = await import('node:path');
    const outDir = args.out ?? join(dirname(args.input), 'report');
    const written = await writeReport(args.input, outDir, args.title === undefined ? {} : { title: args.title });
    stdout(`Wrote ${written.html}\n`);
    for (const path of Object.values(written.svgs)) stdout(`Wrote ${path}\n`);
    return 0;
  } catch (e) {
    const known = e instanceof RlhfError || (e instanceof Error && typeof (e as { code?: unknown }).code === 'string');
    stderr(`tfjs-rlhf-report: ${known ? (e as Error).message : String(e instanceof Error ? (e.stack ?? e.message) : e)}\n`);
    return 1;
  }
}
