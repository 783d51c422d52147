#!/usr/bin/env node
// Builds src/backends/simd-module.ts (the fused SIMD kernels as base64) from src/backends/simd/kernels.ll
// with LLVM 14's `opt` and `llc` (Debian: apt install llvm-14). The generated file is committed, so
// neither a build nor CI needs LLVM; run this after editing kernels.ll:   npm run build:simd
// `node scripts/build-simd.mjs --check` rebuilds in memory and fails if the committed module differs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(root, 'src/backends/simd/kernels.ll');
const OUT = join(root, 'src/backends/simd-module.ts');
const EXPORTS = ['gelu_forward', 'gelu_backward', 'adamw', 'layernorm_forward', 'layernorm_backward', 'row_max_sumexp', 'neg_scaled_softmax', 'column_sums', 'sum_squares', 'decode_attention'];

/** F(x) -> the float32 value of x in LLVM's 64-bit hex form (which IR requires for inexact floats). */
function hexFloats(text) {
  return text.replace(/F\(([-+0-9.eE]+)\)/g, (_, x) => {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, Math.fround(Number(x)));
    return `0x${view.getBigUint64(0).toString(16).toUpperCase().padStart(16, '0')}`;
  });
}

/** The module without its custom sections (llc's linking, relocation, producer and feature notes). */
function stripCustom(bytes) {
  const keep = [bytes.subarray(0, 8)];
  let at = 8;
  while (at < bytes.length) {
    const start = at;
    const id = bytes[at++];
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++];
      size |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    at += size;
    if (id !== 0) keep.push(bytes.subarray(start, at));
  }
  return Buffer.concat(keep);
}

const leb = (n) => {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};

/** Reads an unsigned LEB128 at `at`: [value, next offset]. */
function readLeb(bytes, at) {
  let v = 0;
  for (let shift = 0; ; shift += 7) {
    const b = bytes[at++];
    v |= (b & 0x7f) << shift;
    if (b < 0x80) return [v >>> 0, at];
  }
}

/**
 * The same module importing a *shared* memory (limits flags 0x03, maximum 65536 pages = 4 GiB, as the
 * threaded tfjs-backend-wasm build declares): a module's memory import must match shared-ness.
 */
function sharedVariant(bytes) {
  const parts = [bytes.subarray(0, 8)];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, body] = readLeb(bytes, at + 1);
    const end = body + size;
    if (id !== 2) {
      parts.push(bytes.subarray(at, end));
    } else {
      let [count, p] = readLeb(bytes, body);
      const out = [...leb(count)];
      for (let i = 0; i < count; i++) {
        const start = p;
        for (let name = 0; name < 2; name++) {
          const [len, q] = readLeb(bytes, p);
          p = q + len;
        }
        const kind = bytes[p++];
        out.push(...bytes.subarray(start, p));
        if (kind !== 2) throw new Error(`unexpected import kind ${kind}`);
        const flags = bytes[p++];
        const [min, q] = readLeb(bytes, p);
        p = q;
        if (flags !== 0) throw new Error(`unexpected memory limits flags ${flags}`);
        out.push(0x03, ...leb(min), ...leb(65536));
      }
      parts.push(Buffer.from([2, ...leb(out.length), ...out]));
    }
    at = end;
  }
  return Buffer.concat(parts);
}

function build() {
  const dir = mkdtempSync(join(tmpdir(), 'tfjs-rlhf-simd-'));
  try {
    writeFileSync(join(dir, 'k.ll'), hexFloats(readFileSync(SRC, 'utf8')));
    const tool = (name) => process.env[`LLVM_${name.toUpperCase()}`] ?? name;
    execFileSync(tool('opt'), ['-O3', '-mattr=+simd128,+bulk-memory', join(dir, 'k.ll'), '-o', join(dir, 'k.bc')], { stdio: ['ignore', 'inherit', 'inherit'] });
    execFileSync(tool('llc'), ['-O3', '-mattr=+simd128,+bulk-memory', '-filetype=obj', join(dir, 'k.bc'), '-o', join(dir, 'k.o')], { stdio: ['ignore', 'inherit', 'inherit'] });
    const bytes = stripCustom(readFileSync(join(dir, 'k.o')));
    const mod = new WebAssembly.Module(bytes);
    const imports = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}:${i.kind}`);
    if (imports.join() !== 'env.__linear_memory:memory') throw new Error(`unexpected imports: ${imports.join(', ')}`);
    const exports = WebAssembly.Module.exports(mod).map((e) => e.name).sort();
    if (exports.join() !== [...EXPORTS].sort().join()) throw new Error(`unexpected exports: ${exports.join(', ')}`);
    const shared = sharedVariant(bytes);
    new WebAssembly.Instance(new WebAssembly.Module(shared), { env: { __linear_memory: new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true }) } });
    return [bytes.toString('base64'), shared.toString('base64')];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function render([b64, sharedB64]) {
  const literal = (s) => {
    const lines = s.match(/.{1,100}/g) ?? [];
    return lines.map((l, i) => `  '${l}'${i === lines.length - 1 ? ';' : ' +'}`).join('\n');
  };
  return `/**
 * The fused SIMD kernels (WebAssembly SIMD128), generated by scripts/build-simd.mjs from
 * src/backends/simd/kernels.ll with LLVM 14 \`opt -O3\` and \`llc -O3\`. Do not edit: change kernels.ll
 * and run \`npm run build:simd\`. ${b64.length} characters of base64.
 * @internal
 * @module
 */

/** The module's bytes, base64. It imports only \`env.__linear_memory\` and exports ${EXPORTS.join(', ')}. */
export const SIMD_MODULE_BASE64 =
${literal(b64)}

/** The same module importing a shared memory (the threaded tfjs-backend-wasm build's), base64. */
export const SIMD_MODULE_SHARED_BASE64 =
${literal(sharedB64)}
`;
}

const text = render(build());
if (process.argv.includes('--check')) {
  if (readFileSync(OUT, 'utf8') !== text) {
    console.error(`${OUT} is not what kernels.ll builds to: run npm run build:simd`);
    process.exit(1);
  }
  console.log('simd-module.ts matches kernels.ll');
} else {
  writeFileSync(OUT, text);
  console.log(`wrote ${OUT}`);
}
