// The launcher's SHA-256 (native/launcher/sha256.c, streamed by files.c's file check in 64 KiB reads) against
// Node's, at every padding and read boundary: a wrong digest would send runs whose inputs did not change to the
// Node.js path (never the other way: a digest must match to be trusted).
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { needCommand } from '../support/capability.js';
import { ROOT } from '../support/guard.js';

const work = mkdtempSync(join(tmpdir(), 'eg-launcher-sha-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Prints the digest of each file argument (eg_sha256_*), then 1/0 for eg_file_sha256_is against the next argument. */
const HARNESS = `#include <stdio.h>
#include <string.h>
#include "launcher.h"
#include "sha256.h"
int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    FILE *f = fopen(argv[i], "rb");
    if (f == NULL) return 2;
    struct eg_sha256 s;
    eg_sha256_init(&s);
    unsigned char buf[7919]; /* a prime: updates straddle every block boundary */
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) eg_sha256_update(&s, buf, n);
    fclose(f);
    unsigned char d[32];
    char hex[65];
    eg_sha256_final(&s, d);
    eg_sha256_hex(d, hex);
    printf("%s %d\\n", hex, eg_file_sha256_is(argv[i], argv[i + 1]));
  }
  return 0;
}
`;

describe.skipIf(!needCommand('cc'))('launcher SHA-256', () => {
  it('equals Node.js crypto at every padding, block and read boundary', () => {
    const src = join(work, 'harness.c');
    const exe = join(work, 'harness');
    writeFileSync(src, HARNESS);
    const dir = join(ROOT, 'native/launcher');
    const cc = spawnSync(
      'cc',
      [
        '-std=c11',
        '-O2',
        '-Wall',
        '-Wextra',
        '-Werror',
        `-I${dir}`,
        '-o',
        exe,
        src,
        join(dir, 'sha256.c'),
        join(dir, 'files.c'),
      ],
      { encoding: 'utf8' },
    );
    expect(cc.status, cc.stderr).toBe(0);
    const sizes = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 65535, 65536, 65537, 200_003];
    const args: string[] = [];
    const want: string[] = [];
    for (const n of sizes) {
      const bytes = randomBytes(n);
      const f = join(work, `in-${n}`);
      writeFileSync(f, bytes);
      const hex = createHash('sha256').update(bytes).digest('hex');
      args.push(f, hex);
      want.push(`${hex} 1`);
    }
    // a wrong digest is refused
    args.push(join(work, 'in-0'), 'f'.repeat(64));
    want.push(`${createHash('sha256').digest('hex')} 0`);
    const r = spawnSync(exe, args, { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(want);
  });
});
