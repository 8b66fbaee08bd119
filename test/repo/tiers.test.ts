/**
 * The test tiers of vitest.tiers.ts hold: every unit-tier pattern names existing test files, and no unit-tier file —
 * nor any test/ module it imports, however indirectly — creates a network namespace, needs root or starts the Lambda
 * Runtime Interface Emulator. So `npm run test:unit` runs as an ordinary user and skips nothing for want of root.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UNIT_TESTS } from '../../vitest.tiers.js';

const root = join(import.meta.dirname, '../..');

/**
 * What a unit-tier module must not use: the namespace and emulator helpers of test/support (which offer them next to
 * harmless ones such as LIBRARY or ROOT: those support modules are libraries, it is their use that counts), and
 * root or namespaces directly.
 */
const NEEDS_PRIVILEGE = /\b(Netns|needNetns|isRoot|runGuarded|needRie|unshare|nsenter)\b|\bip netns\b/;

function tracked(glob: string): string[] {
  return execFileSync('git', ['ls-files', '--', `:(glob)${glob}`], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

/** `file` and the test/ modules it imports, directly or not (relative imports only: packages are not ours). */
function localImports(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(join(root, file), 'utf8');
  for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
    const target = normalize(join(dirname(file), (m[1] as string).replace(/\.js$/, '.ts')));
    if (target.startsWith('test/')) localImports(target, seen);
  }
  return seen;
}

describe('test tiers', () => {
  it('every unit-tier pattern matches test files', () => {
    expect(UNIT_TESTS.filter((g) => tracked(g).filter((f) => f.endsWith('.test.ts')).length === 0)).toEqual([]);
  });

  it('no unit-tier file, nor anything of test/ it imports, needs root, a namespace or the emulator', () => {
    const offenders: string[] = [];
    for (const file of UNIT_TESTS.flatMap(tracked).filter((f) => f.endsWith('.test.ts'))) {
      for (const mod of localImports(file)) {
        if (mod === relative(root, join(import.meta.dirname, 'tiers.test.ts'))) continue; // names the words itself
        if (mod.startsWith('test/support/')) continue; // helper libraries: what counts is whether they are used
        const hit = NEEDS_PRIVILEGE.exec(readFileSync(join(root, mod), 'utf8'));
        if (hit) offenders.push(`${file} → ${mod}: ${hit[0]}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
