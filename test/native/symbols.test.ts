// Both builds of libegressguard.so load on every Lambda glibc and export nothing but their hooks:
// - no GLIBC_ symbol version newer than 2.17 (Amazon Linux 2 has 2.26, AL2023 2.34; the aarch64 baseline is 2.17,
//   x86_64's 2.2.5 — docs/LAMBDA.md "glibc and architectures"), and no GLIBC_PRIVATE;
// - every defined dynamic symbol is an interposition of a libc function of that architecture (the version script
//   hides everything else), and every hook of REQUIRED_HOOKS is there;
// - right ELF machine, libc-only dependencies, no RPATH/RUNPATH;
// - the build actually guards a program on its own architecture: natively for x86_64, under qemu-aarch64 for aarch64.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need, needCommand, needNetns, runs } from '../support/capability.js';
import { compilePolicy, LIBRARY, LIBRARY_AARCH64, ROOT, runGuarded, scratchDir } from '../support/guard.js';
import { Netns } from '../support/netns.js';

const REQUIRED_HOOKS = [
  'getaddrinfo',
  'gethostbyname',
  'gethostbyname2',
  'gethostbyname_r',
  'gethostbyname2_r',
  'connect',
  'sendto',
  'sendmsg',
  'sendmmsg',
  'syscall',
  'close',
];

interface Build {
  arch: string;
  lib: string;
  machine: string;
  libc: string;
  cc: string;
}

const BUILDS: Build[] = [
  { arch: 'x86_64', lib: LIBRARY, machine: 'X86-64', libc: '/lib/x86_64-linux-gnu/libc.so.6', cc: 'gcc' },
  {
    arch: 'aarch64',
    lib: LIBRARY_AARCH64,
    machine: 'AArch64',
    libc: '/usr/aarch64-linux-gnu/lib/libc.so.6',
    cc: 'aarch64-linux-gnu-gcc',
  },
];

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

interface DynSym {
  name: string;
  version: string | undefined;
  defined: boolean;
  bind: string;
  vis: string;
  type: string;
}

/** `readelf --dyn-syms -W`: Num: Value Size Type Bind Vis Ndx Name[@VER] */
function dynSyms(file: string): DynSym[] {
  const out: DynSym[] = [];
  for (const line of sh('readelf', ['--dyn-syms', '-W', file]).split('\n')) {
    const m = /^\s*\d+:\s+[0-9a-f]+\s+\d+\s+(\w+)\s+(\w+)\s+(\w+)\s+(\w+)\s+(\S+)/.exec(line);
    if (!m) continue;
    const [, type, bind, vis, ndx, full] = m as unknown as string[];
    const [name, version] = (full as string).split(/@@?/);
    if (name === '') continue;
    out.push({
      name: name as string,
      version,
      defined: ndx !== 'UND',
      bind: bind as string,
      vis: vis as string,
      type: type as string,
    });
  }
  return out;
}

/** Versions the file requires (`readelf -V`, .gnu.version_r). */
function requiredVersions(file: string): string[] {
  return [...sh('readelf', ['-V', '-W', file]).matchAll(/Name:\s+(GLIBC_[\w.]+)/g)].map((m) => m[1] as string);
}

function versionTuple(v: string): number[] {
  return v
    .replace(/^GLIBC_/, '')
    .split('.')
    .map(Number);
}

function newerThan217(v: string): boolean {
  if (v === 'GLIBC_PRIVATE') return true;
  const [a = 0, b = 0] = versionTuple(v);
  return a > 2 || (a === 2 && b > 17);
}

const haveReadelf = needCommand('readelf');

// `npm run build` makes the x86_64 library; the cross build is made here when it is missing (it is quick).
if (!existsSync(LIBRARY_AARCH64) && runs('aarch64-linux-gnu-gcc', ['--version'])) {
  spawnSync('make', ['-s', '-C', join(ROOT, 'native'), 'aarch64'], { stdio: 'inherit', timeout: 300_000 });
}

for (const b of BUILDS) {
  const built = need(`${b.arch} build of libegressguard.so`, existsSync(b.lib), `${b.lib} is missing`);
  describe.skipIf(!(haveReadelf && built))(`${b.arch} build symbols`, () => {
    it('is an ELF shared object for the right machine, depending on libc only, without RPATH', () => {
      const h = sh('readelf', ['-h', '-W', b.lib]);
      expect(h).toMatch(/Type:\s+DYN/);
      expect(h).toMatch(new RegExp(`Machine:\\s+.*${b.machine}`));
      const d = sh('readelf', ['-d', '-W', b.lib]);
      const needed = [...d.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
      for (const n of needed)
        expect(n).toMatch(/^(libc\.so\.6|libdl\.so\.2|libpthread\.so\.0|ld-linux[-\w.]*\.so\.\d)$/);
      expect(d).not.toMatch(/\((RPATH|RUNPATH)\)/);
    });

    it('needs no GLIBC_ version newer than 2.17 (and no GLIBC_PRIVATE)', () => {
      const syms = dynSyms(b.lib);
      const versions = [...new Set([...requiredVersions(b.lib), ...syms.map((s) => s.version ?? '')])].filter((v) =>
        v.startsWith('GLIBC_'),
      );
      expect(versions.length).toBeGreaterThan(0);
      const tooNew = syms.filter((s) => s.version?.startsWith('GLIBC_') && newerThan217(s.version));
      expect(tooNew.map((s) => `${s.name}@${s.version}`)).toEqual([]);
      expect(versions.filter(newerThan217)).toEqual([]);
      // objdump agrees (the tool docs/LAMBDA.md names for this check)
      const od = sh('objdump', ['-T', b.lib]);
      const odVersions = [...od.matchAll(/\b(GLIBC_[\w.]+)\b/g)].map((m) => m[1] as string);
      expect(odVersions.filter(newerThan217)).toEqual([]);
    });

    it('exports only its hooks: each is a libc function, and every required hook is there', () => {
      const exported = dynSyms(b.lib).filter((s) => s.defined && s.bind !== 'LOCAL' && s.vis === 'DEFAULT');
      const names = exported.map((s) => s.name);
      const libc = new Set(
        dynSyms(b.libc)
          .filter((s) => s.defined)
          .map((s) => s.name),
      );
      const notLibc = names.filter((n) => !libc.has(n));
      expect(notLibc, `exported symbols that are not libc functions (internal names leaked): ${notLibc}`).toEqual([]);
      for (const s of exported) expect(s.type, s.name).toBe('FUNC');
      for (const h of REQUIRED_HOOKS) expect(names, `hook ${h} is not exported`).toContain(h);
    });
  });
}

// Running the builds: guardcheck.c under arch-policy.yaml in a namespace, natively and under qemu-aarch64.
const QEMU = ['qemu-aarch64-static', 'qemu-aarch64'].find((q) => runs(q, ['--version'])) ?? 'qemu-aarch64-static';
const EXPECTED = ['gai-good 0', 'gai-evil -2', 'connect-allowed 0', 'connect-denied 13', 'sendto-denied 13'];

const canRun = needNetns();
describe.skipIf(!canRun)('each build guards a real program on its architecture', () => {
  let ns: Netns;
  let policy: string;
  beforeAll(async () => {
    ns = Netns.create({
      prefix: 'egsym',
      addresses: ['10.77.0.1/32', '10.77.0.2/32'],
      hosts: { 'good.test': '10.77.0.1', 'evil.test': '10.77.0.2' },
    });
    policy = await compilePolicy(join(ROOT, 'test/fixtures/integration/arch-policy.yaml'));
  });
  afterAll(() => ns?.destroy());

  const src = join(ROOT, 'test/fixtures/integration/arch/guardcheck.c');

  const x86ok = need('libegressguard.so', existsSync(LIBRARY), `${LIBRARY} is missing`) && needCommand('gcc');
  it.skipIf(!x86ok)('x86_64: native run', async () => {
    const exe = join(scratchDir(), 'guardcheck-x86_64');
    sh('gcc', ['-O1', '-o', exe, src]);
    const r = await runGuarded({ cmd: exe, policy, mode: 'enforce', ns, via: 'env' });
    expect(r.stdout.trim().split('\n'), r.stderr).toEqual(EXPECTED);
    expect(r.logs.some((l) => l.event === 'connect' && l.ip === '10.77.0.2' && l.blocked === true)).toBe(true);
  });

  const armOk =
    need('aarch64 build', existsSync(LIBRARY_AARCH64), `${LIBRARY_AARCH64} is missing`) &&
    needCommand('aarch64-linux-gnu-gcc') &&
    need('qemu-aarch64', runs(QEMU, ['--version']), 'qemu-user-static is not installed');
  it.skipIf(!armOk)('aarch64: run under qemu-aarch64 with the aarch64 glibc', async () => {
    const exe = join(scratchDir(), 'guardcheck-aarch64');
    sh('aarch64-linux-gnu-gcc', ['-O1', '-o', exe, src]);
    // qemu-user is static: the (aarch64) LD_PRELOAD is for the guest only, passed with -E.
    const log = join(scratchDir(), 'aarch64.log');
    const args = ['-L', '/usr/aarch64-linux-gnu', '-E', `LD_PRELOAD=${LIBRARY_AARCH64}`];
    args.push(
      '-E',
      `EGRESS_GUARD_POLICY=${policy}`,
      '-E',
      'EGRESS_GUARD_MODE=enforce',
      '-E',
      `EGRESS_GUARD_LOG=${log}`,
    );
    const r = await ns.run(QEMU, [...args, exe], { timeoutMs: 60_000 });
    expect(r.stdout.trim().split('\n'), r.stderr).toEqual(EXPECTED);
    const lines = spawnSync('cat', [log], { encoding: 'utf8' }).stdout.trim().split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.some((l) => l.event === 'connect' && l.ip === '10.77.0.2' && l.blocked === true)).toBe(true);
    expect(parsed.some((l) => l.event === 'dns' && l.host === 'evil.test' && l.rule === 'evil')).toBe(true);
  });
});
