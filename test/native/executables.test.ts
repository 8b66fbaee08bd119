/**
 * Every executable the package ships, in both builds (native/Makefile: `build/<name>`, `build/aarch64/<name>`): the
 * layer's programs (layer/build/contents.ts `LAYER_FILES`, the one list of what the layer holds) and the launcher of
 * `egress-guard run` (`LAUNCHER_FILE`). Each must start on every Lambda glibc like the library — no GLIBC_ symbol
 * version above 2.17, no library beyond libc/libpthread; the exec wrapper no library and no dynamic loader at all
 * (`STATIC`, native/wrapper/rt.h) —, carry the same hardening (PIE, full RELRO, BIND_NOW), be the right machine, and
 * actually run: natively for x86_64, under qemu-aarch64 with Debian's aarch64 glibc for
 * aarch64, answering a call that needs nothing else (`PROBES`). A new shipped executable fails here until it has a
 * probe.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAUNCHER_FILE, LAYER_FILES } from '../../layer/build/contents.js';
import { needCommand } from '../support/capability.js';
import { ROOT } from '../support/guard.js';

/** How each program shows it runs: arguments, exit status, the start of its stderr. */
const PROBES: Record<string, { args: string[]; status: number; stderr: RegExp }> = {
  // a usage error exits 2 before anything else
  'egress-guard-proxy': { args: ['--no-such-option'], status: 2, stderr: /^usage: egress-guard-proxy/ },
  'egress-guard-agent': { args: ['--no-such-option'], status: 2, stderr: /^usage: egress-guard-agent/ },
  // a runtime command that does not exist: the exec failure's coded line and the shell's status
  wrapper: { args: ['/nonexistent/egress-guard-probe'], status: 127, stderr: /"error":"E_WRAPPER_EXEC"/ },
  // no launch record for these arguments: the Node.js CLI decides (no policy given), or is not beside this build
  'egress-guard-run': {
    args: ['--', '/bin/true'],
    status: 125,
    stderr: /^egress-guard(-run: E_RUN_LAUNCHER: cannot find| run: E_RUN_NO_POLICY)/,
  },
};

/** Linked against nothing: no PT_INTERP, no NEEDED, no symbol versions (it relocates itself). */
const STATIC = new Set(['wrapper']);

const EXECUTABLES = [...LAYER_FILES, LAUNCHER_FILE].flatMap((f) =>
  f.from.kind === 'make' && !f.path.endsWith('.so') ? [f.from.target] : [],
);

const ok = needCommand('make') && needCommand('readelf') && needCommand('aarch64-linux-gnu-gcc');
const BUILDS = [
  { arch: 'x86_64', dir: join(ROOT, 'native/build'), machine: 'X86-64', run: [] as string[] },
  {
    arch: 'aarch64',
    dir: join(ROOT, 'native/build/aarch64'),
    machine: 'AArch64',
    run: ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'],
  },
];

function readelf(args: string[]): string {
  const r = spawnSync('readelf', ['-W', ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe.skipIf(!ok)('shipped executables', () => {
  it('the layer and the package ship executables, each with a probe', () => {
    expect(EXECUTABLES).toContain('egress-guard-agent');
    expect(EXECUTABLES).toContain('egress-guard-run');
    for (const e of EXECUTABLES) expect(Object.keys(PROBES), `${e} has no probe in PROBES`).toContain(e);
  });

  const targets = BUILDS.flatMap((b) => EXECUTABLES.map((e) => join(b.dir, e)));
  const make = spawnSync('make', ['-s', '-C', join(ROOT, 'native'), ...targets.map((t) => t.slice(ROOT.length + 8))], {
    encoding: 'utf8',
  });

  for (const b of BUILDS) {
    for (const name of EXECUTABLES) {
      it(`${b.arch} ${name}: loads on glibc 2.17+, hardened, right machine, and runs`, () => {
        expect(make.status, make.stderr).toBe(0);
        const bin = join(b.dir, name);
        const versions = [...readelf(['--dyn-syms', bin]).matchAll(/@(GLIBC_[0-9.]+)/g)].map((m) => m[1] as string);
        expect(versions.length > 0).toBe(!STATIC.has(name));
        const newer = versions.filter((v) => {
          const [maj, min] = v.replace('GLIBC_', '').split('.').map(Number) as [number, number];
          return maj > 2 || (maj === 2 && min > 17);
        });
        expect(newer).toEqual([]);
        const dynamic = readelf(['-d', bin]);
        const needed = [...dynamic.matchAll(/\(NEEDED\).*\[(.+)\]/g)].map((m) => m[1] as string);
        expect(needed.filter((l) => l !== 'libc.so.6' && l !== 'libpthread.so.0')).toEqual([]);
        if (STATIC.has(name)) {
          expect(needed).toEqual([]);
          expect(readelf(['-l', bin])).not.toMatch(/INTERP/);
        } else {
          expect(needed).toContain('libc.so.6');
        }
        expect(dynamic).toMatch(/\(FLAGS\).*BIND_NOW/);
        expect(dynamic).toMatch(/\(FLAGS_1\).*PIE/);
        expect(readelf(['-l', bin])).toMatch(/GNU_RELRO/);
        expect(readelf(['-h', bin])).toMatch(new RegExp(`Machine:\\s+.*${b.machine}`));
        const probe = PROBES[name];
        if (probe === undefined) throw new Error(`${name} has no probe in PROBES`);
        const cmd = [...b.run, bin, ...probe.args];
        const env = { ...process.env };
        delete env.EGRESS_GUARD_POLICY;
        const r = spawnSync(cmd[0] as string, cmd.slice(1), { encoding: 'utf8', env });
        expect(r.status, r.stderr).toBe(probe.status);
        expect(r.stderr).toMatch(probe.stderr);
      });
    }
  }
});
