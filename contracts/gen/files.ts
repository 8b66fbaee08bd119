/**
 * The generated files on disk: `writeOutputs` writes what the specs produce, `staleOutputs` names every generated file
 * that differs from it (or is missing). Both read the specs from `<root>/contracts`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSpecs } from './load.js';
import { renderAll } from './outputs.js';

/** The repository root (this file is contracts/gen/files.ts). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** The current text of a repository file ('' when it does not exist). */
function reader(root: string): (path: string) => string {
  return (path) => {
    try {
      return readFileSync(join(root, path), 'utf8');
    } catch {
      return '';
    }
  };
}

export function writeOutputs(root = REPO_ROOT): string[] {
  const written: string[] = [];
  for (const [path, text] of renderAll(loadSpecs(join(root, 'contracts')))) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
    written.push(path);
  }
  return written;
}

export function staleOutputs(root = REPO_ROOT): string[] {
  const read = reader(root);
  return [...renderAll(loadSpecs(join(root, 'contracts')))]
    .filter(([path, text]) => read(path) !== text)
    .map(([p]) => p);
}
