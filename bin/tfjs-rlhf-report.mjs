#!/usr/bin/env node
// tfjs-rlhf-report <metrics.jsonl> [--out dir] [--title t]: writes a training report (see runReportCli).
import { runReportCli } from '../dist/index.js';

process.exitCode = await runReportCli(process.argv.slice(2));
