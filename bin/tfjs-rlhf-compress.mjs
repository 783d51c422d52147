#!/usr/bin/env node
// tfjs-rlhf-compress <model-dir> --method <m> --out <dir> [--calibration f] [--eval f]: see runCompressCli.
import { runCompressCli, useBackend } from '../dist/index.js';

await useBackend(process.env.BACKEND ?? 'auto');
process.exitCode = await runCompressCli(process.argv.slice(2));
