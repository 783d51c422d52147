/**
 * Internal: escaping and the self-contained HTML page of a training report.
 * @internal
 * @module
 */
import type { MetricsHistory, SampleRow, SamplesRecord } from './types';

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escapes text for HTML element content or a quoted attribute: `&`, `<`, `>`, `"` and `'`.
 * @param text - Any text.
 * @returns The text, safe to place in HTML.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * JSON for an inline `<script type="application/json">`: `<`, `>`, `&`, U+2028 and U+2029 are
 * written as `\u` escapes, so no string in the data can close the script element.
 * @param value - A JSON-serialisable value.
 * @returns The JSON text.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function formatNumber(v: unknown): string {
  if (typeof v !== 'number') return '';
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

function sampleRowHtml(step: unknown, row: SampleRow): string {
  const cells = [formatNumber(step), row.prompt, row.response, formatNumber(row.score), formatNumber(row.kl)];
  return `<tr>${cells.map((c, i) => `<td${i === 1 || i === 2 ? ' class="text"' : ''}>${escapeHtml(String(c))}</td>`).join('')}</tr>`;
}

/**
 * The samples table: one row per sample (step, prompt, response, score, KL), all text escaped.
 * @param samples - The sample batches.
 * @param maxRows - Most rows shown; the latest are kept.
 * @returns HTML, or a note when there are no samples.
 */
export function samplesTableHtml(samples: readonly SamplesRecord[], maxRows: number): string {
  const rows = samples.flatMap((s) => s.rows.map((row) => ({ step: s.step, row })));
  if (rows.length === 0) return '<p class="note">No samples were logged.</p>';
  const shown = rows.slice(Math.max(0, rows.length - maxRows));
  const note = shown.length < rows.length ? `<p class="note">Showing the last ${shown.length} of ${rows.length} samples.</p>` : '';
  const head = '<tr><th>step</th><th>prompt</th><th>response</th><th>score</th><th>KL</th></tr>';
  return `${note}<table class="samples"><thead>${head}</thead><tbody>${shown.map((r) => sampleRowHtml(r.step, r.row)).join('')}</tbody></table>`;
}

/**
 * A one-line summary per kind: record count and last step.
 * @param history - The metrics.
 * @param kinds - Kinds in display order.
 * @returns HTML list.
 */
export function summaryHtml(history: MetricsHistory, kinds: readonly string[]): string {
  if (kinds.length === 0) return '<p class="note">No training steps were logged.</p>';
  const items = kinds.map((kind) => {
    const records = history.series[kind] ?? [];
    const last = records[records.length - 1]?.step;
    const tail = typeof last === 'number' ? `, last step ${formatNumber(last)}` : '';
    return `<li><b>${escapeHtml(kind)}</b>: ${records.length} records${tail}</li>`;
  });
  return `<ul class="summary">${items.join('')}</ul>`;
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}
figure{margin:1.5rem 0}figure svg{max-width:100%;height:auto}
table.samples{border-collapse:collapse;width:100%;font-size:.9rem}
table.samples th,table.samples td{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top;text-align:left}
td.text{white-space:pre-wrap;word-break:break-word;font-family:ui-monospace,monospace}.note{color:#666}`;

/** The parts of a report page. */
export interface PageParts {
  /** Page title (plain text). */
  title: string;
  /** Summary HTML. */
  summary: string;
  /** Charts: name, title (plain text) and SVG markup from the renderer. */
  charts: ReadonlyArray<{ name: string; title: string; svg: string }>;
  /** Samples table HTML. */
  samples: string;
  /** JSON text of the data, already safe for a script element (see {@link jsonForScript}). */
  dataJson: string;
}

/**
 * Assembles the self-contained page: inline style, inline SVG charts, samples table and the data as
 * `<script type="application/json" id="tfjs-rlhf-metrics">`. Nothing is loaded from the network.
 * @param parts - See {@link PageParts}.
 * @returns The HTML document.
 */
export function pageHtml(parts: PageParts): string {
  const title = escapeHtml(parts.title);
  const charts = parts.charts.length === 0
    ? '<p class="note">No chartable metrics were logged.</p>'
    : parts.charts.map((c) => `<figure id="chart-${escapeHtml(c.name)}" aria-label="${escapeHtml(c.title)}">\n${c.svg}\n</figure>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${title}</h1>
${parts.summary}
<h2>Charts</h2>
${charts}
<h2>Samples</h2>
${parts.samples}
<script type="application/json" id="tfjs-rlhf-metrics">${parts.dataJson}</script>
</body>
</html>
`;
}
