/**
 * Internal: which charts a report has, the data points of each, and their Vega-Lite specs.
 * @internal
 * @module
 */
import type { TopLevelSpec } from 'vega-lite';
import type { MetricRecord, MetricsHistory } from './types';

/** One chart of a training report. */
export interface ReportChart {
  /** File-name stem of the chart's SVG, e.g. `"reward"` for `reward.svg`. */
  name: string;
  /** Title shown above the chart. */
  title: string;
  /** Stats fields plotted, one line per (kind, field) that has data, e.g. `"objective/kl"`. */
  fields: readonly string[];
  /** Plot each series in its own panel with its own scales (for quantities of different size). */
  separatePanels?: boolean;
}

/** The charts a report can show, in order; a chart appears only when one of its fields has data. */
export const REPORT_CHARTS: readonly ReportChart[] = [
  { name: 'reward', title: 'Reward', fields: ['objective/scores', 'objective/rlhf_reward'] },
  { name: 'kl', title: 'KL to the reference', fields: ['objective/kl', 'objective/kl_coef'], separatePanels: true },
  { name: 'loss', title: 'Losses', fields: ['loss/policy_avg', 'loss/value_avg', 'loss'], separatePanels: true },
  { name: 'clipfrac', title: 'Clip fractions', fields: ['policy/clipfrac_avg', 'val/clipfrac_avg'] },
  { name: 'approx-kl', title: 'Approximate KL', fields: ['policy/approxkl_avg', 'policy/approxkl_first'] },
  { name: 'lr', title: 'Learning rate', fields: ['lr'], separatePanels: true },
  { name: 'accuracy', title: 'Reward-model accuracy', fields: ['accuracy'] },
];

/** One plotted point: `value` is `null` where the logged value was not a finite number. */
export interface ChartPoint {
  /** The record's `step`, or its 1-based position among its kind's records when it has none. */
  step: number;
  /** The value, or `null` (a gap). */
  value: number | null;
  /** Series label, `"<kind> <field>"`, e.g. `"ppo objective/kl"`. */
  series: string;
}

const KIND_ORDER = ['lm', 'sft', 'reward', 'ppo'];

/**
 * The kinds of a history in pipeline order (lm, sft, reward, ppo), then any others alphabetically.
 * @param history - The metrics.
 * @returns The kinds.
 */
export function orderedKinds(history: MetricsHistory): string[] {
  const kinds = Object.keys(history.series);
  const rank = (k: string): number => (KIND_ORDER.includes(k) ? KIND_ORDER.indexOf(k) : KIND_ORDER.length);
  return kinds.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function stepOf(record: MetricRecord, index: number): number {
  return typeof record.step === 'number' && Number.isFinite(record.step) ? record.step : index + 1;
}

/** Keeps at most `max` points, evenly strided, always keeping the last. */
function thin<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const stride = Math.ceil(points.length / max);
  const out = points.filter((_, i) => i % stride === 0);
  if ((points.length - 1) % stride !== 0) out.push(points[points.length - 1] as T);
  return out;
}

/**
 * The points of one chart: a series for each (kind, field) with at least one finite value.
 * @param history - The metrics.
 * @param chart - The chart.
 * @param maxPoints - Most points per series; longer series are thinned evenly.
 * @returns The points, series by series; empty when the chart has no data.
 */
export function chartPoints(history: MetricsHistory, chart: ReportChart, maxPoints: number): ChartPoint[] {
  const points: ChartPoint[] = [];
  for (const kind of orderedKinds(history)) {
    const records = history.series[kind] ?? [];
    for (const field of chart.fields) {
      const series = `${kind} ${field}`;
      const own: ChartPoint[] = [];
      let finite = false;
      records.forEach((r, i) => {
        const v = r[field];
        if (typeof v !== 'number') return;
        finite ||= Number.isFinite(v);
        own.push({ step: stepOf(r, i), value: Number.isFinite(v) ? v : null, series });
      });
      if (finite) points.push(...thin(own, maxPoints));
    }
  }
  return points;
}

/**
 * The Vega-Lite spec of a chart: one line per series on shared axes, or, for a chart with
 * `separatePanels` and several series, one panel per series with its own scales.
 * @param chart - The chart.
 * @param points - Its points (see {@link chartPoints}).
 * @returns The spec, with the data inline.
 */
export function chartSpec(chart: ReportChart, points: ChartPoint[]): TopLevelSpec {
  const names = [...new Set(points.map((p) => p.series))];
  const mark = { type: 'line' as const, point: points.length / names.length <= 60, interpolate: 'linear' as const };
  const x = { field: 'step', type: 'quantitative' as const, title: 'step' };
  const y = { field: 'value', type: 'quantitative' as const, title: null, scale: { zero: false } };
  const common = { title: chart.title, background: 'white', data: { values: points } };
  if (chart.separatePanels === true && names.length > 1) {
    return {
      ...common,
      facet: { row: { field: 'series', type: 'nominal', sort: names, title: null, header: { labelAngle: 0, labelOrient: 'top', labelAlign: 'left' } } },
      spec: { width: 560, height: 110, mark, encoding: { x, y } },
      resolve: { scale: { x: 'independent', y: 'independent' } },
    };
  }
  return {
    ...common,
    width: 560,
    height: 220,
    mark,
    encoding: { x, y, color: { field: 'series', type: 'nominal', sort: names, title: null, legend: { orient: 'bottom', columns: 2, labelLimit: 0 } } },
  };
}
