import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureDir, readFileBytes, writeFileAtomic } from '../../src/io/atomic';

// Pass-through mock so that single calls can be made to fail.
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return { ...real, default: real, rename: vi.fn(real.rename) };
});

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-rlhf-atomic-'));
});

afterEach(async () => {
  vi.mocked(fs.rename).mockClear();
  await fs.rm(dir, { recursive: true, force: true });
});

async function leftovers(d: string): Promise<string[]> {
  return (await fs.readdir(d)).filter((f) => f.includes('.tmp-'));
}

describe('writeFileAtomic', () => {
  it('writes bytes and strings that read back', async () => {
    const file = path.join(dir, 'a.bin');
    const data = Uint8Array.from([0, 1, 2, 255]);
    await writeFileAtomic(file, data);
    const back = await readFileBytes(file);
    expect(back).toBeInstanceOf(Uint8Array);
    expect(Array.from(back)).toEqual([0, 1, 2, 255]);
    await writeFileAtomic(file, 'héllo');
    expect(new TextDecoder().decode(await readFileBytes(file))).toBe('héllo');
    expect(await leftovers(dir)).toEqual([]);
  });

  it('writes an empty file', async () => {
    const file = path.join(dir, 'empty');
    await writeFileAtomic(file, new Uint8Array(0));
    expect((await readFileBytes(file)).length).toBe(0);
  });

  it('fails without leaving anything when the directory does not exist', async () => {
    await expect(writeFileAtomic(path.join(dir, 'missing', 'a.bin'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('fails when a parent path is a file', async () => {
    const notDir = path.join(dir, 'file');
    await fs.writeFile(notDir, 'keep');
    await expect(writeFileAtomic(path.join(notDir, 'a.bin'), 'x')).rejects.toMatchObject({ code: 'ENOTDIR' });
    expect(await fs.readFile(notDir, 'utf8')).toBe('keep');
    expect(await leftovers(dir)).toEqual([]);
  });

  it('removes the temp file when the rename fails (target is a directory)', async () => {
    const target = path.join(dir, 'target');
    await fs.mkdir(target);
    await fs.writeFile(path.join(target, 'inside'), 'x');
    await expect(writeFileAtomic(target, 'new')).rejects.toThrow();
    expect(await leftovers(dir)).toEqual([]);
    expect(await fs.readdir(target)).toEqual(['inside']);
  });

  it('leaves the previous file intact when the write fails before the rename', async () => {
    const file = path.join(dir, 'model.safetensors');
    await writeFileAtomic(file, 'old contents');
    vi.mocked(fs.rename).mockRejectedValueOnce(Object.assign(new Error('simulated crash'), { code: 'EIO' }));
    await expect(writeFileAtomic(file, 'new contents')).rejects.toThrow('simulated crash');
    expect(fs.rename).toHaveBeenCalledTimes(2);
    expect(await fs.readFile(file, 'utf8')).toBe('old contents');
    expect(await leftovers(dir)).toEqual([]);
  });
});

describe('readFileBytes and ensureDir', () => {
  it('creates nested directories idempotently', async () => {
    const nested = path.join(dir, 'a', 'b', 'c');
    await ensureDir(nested);
    await ensureDir(nested);
    expect((await fs.stat(nested)).isDirectory()).toBe(true);
  });

  it('rejects when the path is a file', async () => {
    const file = path.join(dir, 'f');
    await fs.writeFile(file, '');
    await expect(ensureDir(file)).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('rejects reading a missing file', async () => {
    await expect(readFileBytes(path.join(dir, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
