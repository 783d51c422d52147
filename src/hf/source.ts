/**
 * Where a pretrained model comes from: a local folder, or a Hugging Face Hub repo id whose files are
 * fetched (and cached) on demand. Node.js only.
 * @module
 */
import { ConfigError, FileFormatError } from '../errors';
import { readFileBytes } from '../io/atomic';
import { joinPath } from '../io/paths';
import { hubFile, type HubOptions } from './hub';
import { isRepoId } from './hub-cache';

/** The files of a model folder or Hub repo. @internal */
export interface PretrainedFiles {
  /** For messages: the folder path, or `org/name@revision`. */
  readonly label: string;
  /** True for a local folder. */
  readonly local: boolean;
  /** Local path of `name`, or `undefined` when the source has no such file. */
  file(name: string): Promise<string | undefined>;
}

async function isDirectory(path: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  return fs.stat(path).then((s) => s.isDirectory(), () => false);
}

/**
 * Opens a source: an existing folder is read in place; otherwise `source` must be a Hub repo id.
 * @throws {@link ConfigError} naming `source` when it is neither.
 */
export async function openPretrained(source: string, options: HubOptions = {}): Promise<PretrainedFiles> {
  if (typeof source !== 'string' || source === '') throw new ConfigError('source', source, 'must be a folder path or a Hub repo id');
  if (await isDirectory(source)) {
    const fs = await import('node:fs/promises');
    return {
      label: source,
      local: true,
      file: async (name) => {
        const path = joinPath(source, name);
        return fs.stat(path).then((s) => (s.isFile() ? path : undefined), () => undefined);
      },
    };
  }
  if (!isRepoId(source)) throw new ConfigError('source', source, 'is not a folder, and not a Hub repo id like "org/name"');
  return {
    label: `${source}@${options.revision ?? 'main'}`,
    local: false,
    file: (name) => hubFile(source, name, options),
  };
}

/** Parses a JSON file of the source; `undefined` when absent and not `required`. @internal */
export async function readJsonFile(files: PretrainedFiles, name: string, required: true): Promise<Record<string, unknown>>;
export async function readJsonFile(files: PretrainedFiles, name: string, required?: false): Promise<Record<string, unknown> | undefined>;
export async function readJsonFile(files: PretrainedFiles, name: string, required = false): Promise<Record<string, unknown> | undefined> {
  const path = await files.file(name);
  if (path === undefined) {
    if (required) throw new FileFormatError(`${files.label}/${name}`, 'no such file');
    return undefined;
  }
  return parseJsonObject(await readFileBytes(path), path);
}

/** Parses UTF-8 JSON that must be an object. @internal */
export function parseJsonObject(bytes: Uint8Array, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new FileFormatError(file, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FileFormatError(file, 'must hold a JSON object');
  return value as Record<string, unknown>;
}
