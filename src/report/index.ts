/**
 * Metrics logging and training reports: {@link metricsLogger} records trainer steps as JSON Lines,
 * {@link readMetrics} reads them back, {@link renderReport} / {@link writeReport} chart them, and
 * {@link runReportCli} is the `tfjs-rlhf-report` command.
 * @module
 */
export { metricsLogger, combineLoggers, logSamples, SAMPLES_MESSAGE } from './metrics-logger';
export type { MetricsLogger, MetricsLoggerOptions } from './metrics-logger';
export { readMetrics, parseMetricsRecord } from './read-metrics';
export { renderReport, writeReport } from './html-report';
export type { ReportOptions, RenderedReport, WrittenReport } from './html-report';
export { REPORT_CHARTS } from './charts';
export type { ReportChart } from './charts';
export { runReportCli, REPORT_CLI_USAGE } from './cli';
export type { ReportCliIo } from './cli';
export type { MetricRecord, SampleRow, SamplesRecord, MetricsHistory } from './types';
