/**
 * `writeFileAtomic(path, bytes)`: writes to a temp file next to `path` (`<path>.tmp-<pid>-<n>`, matched by the
 * repo's .gitignore `*.egp.tmp*` for .egp outputs), fsyncs it and renames it over `path`, so a reader never sees
 * a half-written file. On failure the temp file is removed and the error rethrown; `path` is untouched.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

let counter = 0;

export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}-${counter++}`;
  try {
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
