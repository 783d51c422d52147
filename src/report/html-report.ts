/**
 * Training reports: charts of a metrics log (reward, KL, losses, clip fractions, approximate KL,
 * learning rate, reward-model accuracy) and its samples, as one self-contained HTML page plus an SVG
 * file per chart. Charts are drawn by Vega-Lite and Vega, imported only when a report is rendered.
 * @module
 */
import { ConfigError } from '../errors';
import { ensureDir, writeFileAtomic } from '../io/atomic';
import { chartPoints, chartSpec, orderedKinds, REPORT_CHARTS } from './charts';
import { jsonForScript, pageHtml, samplesTableHtml, summaryHtml } from './html';
import { toJsonSafe } from './json-safe';
import { readMetrics } from './read-metrics';
import type { MetricsHistory } from './types';
import type { TopLevelSpec } from 'vega-lite';

/** Options of {@link renderReport} and {@link writeReport}. */
export interface ReportOptions {
  /** Page title. Default `"tfjs-rlhf training report"`. */
  title?: string;
  /** Most rows in the samples table; the latest are kept. Default `200`. */
  maxSampleRows?: number;
  /** Most points per chart line; longer series are thinned evenly (the embedded data is not). Default `2000`. */
  maxPoints?: number;
}

/** A rendered report. */
export interface RenderedReport {
  /** The self-contained HTML page. */
  html: string;
  /** Each chart's standalone SVG, by chart name (`"reward"`, `"kl"`, `"loss"`, `"clipfrac"`, `"approx-kl"`, `"lr"`, `"accuracy"`). */
  svgs: Record<string, string>;
}

/** Paths written by {@link writeReport}. */
export interface WrittenReport {
  /** The HTML page, `<outDir>/report.html`. */
  html: string;
  /** Each chart's SVG file, `<outDir>/<name>.svg`, by chart name. */
  svgs: Record<string, string>;
}

const DEFAULT_TITLE = 'tfjs-rlhf training report';

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new ConfigError(name, v, 'must be a positive integer');
  return v;
}

/** Renders Vega-Lite specs to SVG with Vega's headless renderer (no canvas, no network). */
async function svgRenderer(): Promise<(spec: TopLevelSpec) => Promise<string>> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const logger = vega.logger(vega.None);
  return async (spec) => {
    const view = new vega.View(vega.parse(vegaLite.compile(spec, { logger }).spec), { renderer: 'none', logger });
    try {
      return await view.toSVG();
    } finally {
      view.finalize();
    }
  };
}

/**
 * Renders a training report. Each chart of `REPORT_CHARTS` whose fields have at least one finite
 * value is drawn, with one line per (kind, field), e.g. `"ppo objective/kl"` or `"lm loss"`; the x
 * axis is each record's `step`. The HTML needs nothing from the network: the charts are inline SVG,
 * the style is inline, and the metrics are embedded as
 * `<script type="application/json" id="tfjs-rlhf-metrics">` (non-finite numbers as `null`, listed in
 * `"nonFinite"`). The samples table shows step, prompt, response, score and KL, all as escaped text.
 * `vega` and `vega-lite` are imported on the first call.
 * @param metrics - The metrics, e.g. from {@link readMetrics}.
 * @param options - See {@link ReportOptions}.
 * @returns The HTML and each chart's SVG.
 * @throws A {@link ConfigError} for invalid options.
 */
export async function renderReport(metrics: MetricsHistory, options: ReportOptions = {}): Promise<RenderedReport> {
  const title = options.title ?? DEFAULT_TITLE;
  if (typeof title !== 'string') throw new ConfigError('title', title, 'must be a string');
  const maxRows = positiveInt('maxSampleRows', options.maxSampleRows, 200);
  const maxPoints = positiveInt('maxPoints', options.maxPoints, 2000);
  const render = await svgRenderer();
  const charts: { name: string; title: string; svg: string }[] = [];
  const svgs: Record<string, string> = {};
  for (const chart of REPORT_CHARTS) {
    const points = chartPoints(metrics, chart, maxPoints);
    if (points.length === 0) continue;
    const svg = await render(chartSpec(chart, points));
    charts.push({ name: chart.name, title: chart.title, svg });
    svgs[chart.name] = svg;
  }
  const html = pageHtml({
    title,
    summary: summaryHtml(metrics, orderedKinds(metrics)),
    charts,
    samples: samplesTableHtml(metrics.samples, maxRows),
    dataJson: jsonForScript(toJsonSafe({ series: { ...metrics.series }, samples: metrics.samples })),
  });
  return { html, svgs };
}

/**
 * Reads a metrics log and writes its report: `<outDir>/report.html` and `<outDir>/<name>.svg` for
 * each chart (see {@link renderReport}), each written atomically; `outDir` is created if needed.
 * Node.js only.
 * @param jsonlPath - The metrics log written by `metricsLogger`.
 * @param outDir - Output directory.
 * @param options - See {@link ReportOptions}.
 * @returns The paths written.
 * @throws A `FileFormatError` naming `file:line` for a malformed log; a {@link ConfigError} for
 *   invalid options; the Node.js error when a file cannot be read or written.
 */
export async function writeReport(jsonlPath: string, outDir: string, options: ReportOptions = {}): Promise<WrittenReport> {
  const metrics = await readMetrics(jsonlPath);
  const report = await renderReport(metrics, options);
  const { join } = await import('node:path');
  await ensureDir(outDir);
  const written: WrittenReport = { html: join(outDir, 'report.html'), svgs: {} };
  for (const [name, svg] of Object.entries(report.svgs)) {
    const path = join(outDir, `${name}.svg`);
    await writeFileAtomic(path, svg);
    written.svgs[name] = path;
  }
  await writeFileAtomic(written.html, report.html);
  return written;
}
