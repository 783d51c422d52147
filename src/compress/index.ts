/**
 * Compression of policies and reward models: int8 weights ({@link quantize}), magnitude and SparseGPT
 * pruning ({@link prune}), keeping the zeros while training further ({@link keepSparsity}).
 * @module
 */
export { quantize, resolveQuantizeOptions } from './quantize';
export type { QuantizeOptions, ResolvedQuantizeOptions } from './quantize';
export { prune, resolvePruneOptions } from './prune';
export type { PruneOptions, ResolvedPruneOptions } from './prune';
export type { NMPattern } from './magnitude';
export { keepSparsity, applySparsityMasks, countZeros } from './sparsity';
export type { ZeroCount } from './sparsity';
export type { SparsityHandle } from './sparsity';
export { cholesky, invertLower, choleskyInverse, upperCholeskyOfInverse } from './cholesky';
export { quantizeMatrix, dequantizeMatrix } from './int8';
export type { QuantizedMatrix, ScaleKind } from './int8';
export { QUANT_METADATA_KEY } from './format';
export type { CompressibleModel } from './targets';
export { perplexity } from './evaluate';
export type { PerplexityOptions, PerplexityResult } from './evaluate';
export { runCompressCli, COMPRESS_CLI_USAGE } from './cli';
export type { CompressCliIo } from './cli';
