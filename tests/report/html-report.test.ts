import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Logger } from '../../src/logging/logger';
import { REPORT_CHARTS } from '../../src/report/charts';
import { renderReport, writeReport } from '../../src/report/html-report';
import { metricsLogger } from '../../src/report/metrics-logger';
import { readMetrics } from '../../src/report/read-metrics';
import type { MetricsHistory } from '../../src/report/types';
import { logPipeline } from './fixtures';

/** Collects logged records into a history in memory, as readMetrics would return it. */
function memoryHistory(log: (logger: Logger) => void): MetricsHistory {
  const history: MetricsHistory = { series: {}, samples: [] };
  log({
    log(_level, message, data) {
      if (data === undefined) return;
      if (message === 'samples') history.samples.push({ kind: 'samples', ...(data as { rows: [] }) });
      else if (message.endsWith(' step')) (history.series[message.slice(0, -5)] ??= []).push({ kind: message.slice(0, -5), ...data });
    },
  });
  return history;
}

const title = (name: string): string => REPORT_CHARTS.find((c) => c.name === name)?.title ?? name;

function embeddedData(html: string): { series: Record<string, unknown[]>; samples: unknown[] } {
  const m = /<script type="application\/json" id="tfjs-rlhf-metrics">([^<]*)<\/script>/.exec(html);
  expect(m).not.toBeNull();
  return JSON.parse(m?.[1] ?? 'null') as { series: Record<string, unknown[]>; samples: unknown[] };
}

describe('renderReport', () => {
  it('charts every metric of a PPO + reward + lm history, self-contained, with the data and samples', async () => {
    const history = memoryHistory((l) => logPipeline(l, 6));
    const { html, svgs } = await renderReport(history, { title: 'Run <1> & co' });
    expect(Object.keys(svgs)).toEqual(['reward', 'kl', 'loss', 'clipfrac', 'approx-kl', 'lr', 'accuracy']);
    for (const [name, svg] of Object.entries(svgs)) {
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain(`>${title(name)}</text>`);
      expect(html).toContain(svg);
      expect(html).toContain(`<figure id="chart-${name}"`);
    }
    expect(svgs.loss).toContain('lm loss');
    expect(svgs.loss).toContain('reward loss');
    expect(svgs.loss).toContain('ppo loss/policy_avg');
    expect(svgs.reward).toContain('ppo objective/rlhf_reward');
    expect(html).toContain('<title>Run &lt;1&gt; &amp; co</title>');
    // Self-contained: nothing loaded from anywhere; only the SVG namespaces are URLs.
    expect(html).not.toMatch(/\s(src|href)=/);
    expect(new Set(html.match(/https?:\/\/[^"'\s]+/g))).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']));
    const data = embeddedData(html);
    expect(data.series.ppo).toHaveLength(6);
    expect(data.series.lm).toHaveLength(6);
    expect(data.samples).toHaveLength(1);
  });

  it('shows sample text escaped, never as markup', async () => {
    const history = memoryHistory((l) => logPipeline(l, 2));
    const { html } = await renderReport(history);
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('<td class="text">&lt;script&gt;alert(1)&lt;/script&gt;</td>');
    expect(html).toContain('<td class="text">Tom &amp; &quot;Jerry&quot; &lt;b&gt;</td>');
    expect(html).toContain('<td class="text">it&#39;s fine</td>');
    expect(html.match(/<script/g)).toHaveLength(1); // the JSON data block only
    const rows = (embeddedData(html).samples[0] as { rows: { response: string }[] }).rows;
    expect(rows[0]?.response).toBe('<script>alert(1)</script>');
  });

  it('omits charts whose metrics were not logged', async () => {
    const history = memoryHistory((l) => {
      l.log('info', 'lm step', { step: 1, loss: 3, lr: 1e-3 });
      l.log('info', 'lm step', { step: 2, loss: 2, lr: 1e-3 });
      l.log('info', 'ppo step', { step: 1, 'objective/kl': NaN }); // no finite value: no KL chart
    });
    const { html, svgs } = await renderReport(history);
    expect(Object.keys(svgs)).toEqual(['loss', 'lr']);
    for (const name of ['reward', 'kl', 'clipfrac', 'approx-kl', 'accuracy']) {
      expect(html).not.toContain(`chart-${name}`);
      expect(html).not.toContain(title(name));
    }
    expect(html).toContain('No samples were logged.');
  });

  it('renders an empty history without charts', async () => {
    const { html, svgs } = await renderReport({ series: {}, samples: [] });
    expect(svgs).toEqual({});
    expect(html).toContain('No chartable metrics were logged.');
    expect(html).not.toContain('<svg');
  });
});

describe('writeReport', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-rlhf-report-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('writes report.html and one SVG per chart', async () => {
    const file = path.join(dir, 'metrics.jsonl');
    const logger = metricsLogger(file);
    logPipeline(logger, 3);
    await logger.close();
    const out = path.join(dir, 'out', 'nested');
    const written = await writeReport(file, out, { title: 'T' });
    expect(written.html).toBe(path.join(out, 'report.html'));
    const files = (await fs.readdir(out)).sort();
    expect(files).toEqual(['accuracy.svg', 'approx-kl.svg', 'clipfrac.svg', 'kl.svg', 'loss.svg', 'lr.svg', 'report.html', 'reward.svg']);
    const html = await fs.readFile(written.html, 'utf8');
    const rendered = await renderReport(await readMetrics(file), { title: 'T' });
    for (const [name, p] of Object.entries(written.svgs)) {
      expect(p).toBe(path.join(out, `${name}.svg`));
      const svg = await fs.readFile(p, 'utf8');
      expect(svg).toBe(rendered.svgs[name]);
      expect(html).toContain(svg);
    }
  });
});
