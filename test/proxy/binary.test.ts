/**
 * The shipped proxy binary, both builds (native/Makefile: `egress-guard-proxy`, `aarch64`): it must start on every
 * Lambda glibc like the library — no GLIBC_ symbol version above 2.17, only libc/libpthread needed — carry the same
 * hardening (PIE, full RELRO, BIND_NOW), be the right machine, and actually run: natively for x86_64, under
 * qemu-aarch64 for aarch64 (a usage error exits 2 before anything else).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { needCommand } from '../support/capability.js';
import { ROOT } from '../support/guard.js';

const ok = needCommand('make') && needCommand('readelf') && needCommand('aarch64-linux-gnu-gcc');
const BUILDS = [
  { arch: 'x86_64', bin: join(ROOT, 'native/build/egress-guard-proxy'), machine: 'X86-64', run: [] as string[] },
  {
    arch: 'aarch64',
    bin: join(ROOT, 'native/build/aarch64/egress-guard-proxy'),
    machine: 'AArch64',
    run: ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'],
  },
];

function readelf(args: string[]): string {
  const r = spawnSync('readelf', ['-W', ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe.skipIf(!ok)('egress-guard-proxy binaries', () => {
  const make = spawnSync('make', ['-s', '-C', join(ROOT, 'native'), 'build/egress-guard-proxy', 'aarch64'], {
    encoding: 'utf8',
  });

  for (const b of BUILDS) {
    it(`${b.arch}: loads on glibc 2.17+, hardened, right machine, and runs`, () => {
      expect(make.status, make.stderr).toBe(0);
      const versions = [...readelf(['--dyn-syms', b.bin]).matchAll(/@(GLIBC_[0-9.]+)/g)].map((m) => m[1] as string);
      expect(versions.length).toBeGreaterThan(0);
      const newer = versions.filter((v) => {
        const [maj, min] = v.replace('GLIBC_', '').split('.').map(Number) as [number, number];
        return maj > 2 || (maj === 2 && min > 17);
      });
      expect(newer).toEqual([]);
      const dynamic = readelf(['-d', b.bin]);
      const needed = [...dynamic.matchAll(/\(NEEDED\).*\[(.+)\]/g)].map((m) => m[1]);
      expect(needed.sort()).toEqual(['libc.so.6', 'libpthread.so.0']);
      expect(dynamic).toMatch(/\(FLAGS\).*BIND_NOW/);
      expect(dynamic).toMatch(/\(FLAGS_1\).*PIE/);
      expect(readelf(['-l', b.bin])).toMatch(/GNU_RELRO/);
      expect(readelf(['-h', b.bin])).toMatch(
        new RegExp(`Machine:\\s+.*${b.machine === 'X86-64' ? 'X86-64' : 'AArch64'}`),
      );
      const cmd = [...b.run, b.bin, '--no-such-option'];
      const r = spawnSync(cmd[0] as string, cmd.slice(1), { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^usage: egress-guard-proxy/);
    });
  }
});
