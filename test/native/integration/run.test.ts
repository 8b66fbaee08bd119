// `egress-guard run`: argument parsing, environment it gives the command (absolute paths, LD_PRELOAD once), exit
// statuses, errors with stable codes — called as a function and through the built bin, guarding real programs.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../../policy/cli/index.js';
import {
  findExecutable,
  isStaticElf,
  parseRunArgs,
  RUN_USAGE,
  RunError,
  runCommand,
  withPreload,
} from '../../../policy/cli/run.js';
import { needCommand, needNetns } from '../../support/capability.js';
import { BIN, compilePolicy, LIBRARY, logsWhere, needBin, needLibrary, ROOT, scratchDir } from '../../support/guard.js';
import { runChild } from '../../support/netns.js';
import { createWorld, explain, POLICY, pyProbe, type World } from './world.js';

const INVALID = join(ROOT, 'test/fixtures/integration/invalid.yaml');
/** The compiled-policy cache of the runs here (run-cache.test.ts tests it): never the user's own. */
const CACHE_HOME = join(scratchDir(), 'xdg-cache');
process.env.XDG_CACHE_HOME = CACHE_HOME;

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof RunError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('run: argument parsing', () => {
  it('reads --policy, --mode, --log (also as --flag=value) and keeps the command verbatim after --', () => {
    expect(
      parseRunArgs(['--policy', 'p.yaml', '--mode', 'enforce', '--log', 'x.log', '--', 'curl', '--mode', '-v']),
    ).toEqual({
      policy: 'p.yaml',
      mode: 'enforce',
      log: 'x.log',
      command: ['curl', '--mode', '-v'],
    });
    expect(parseRunArgs(['--policy=p.egp', '--mode=audit', 'node', 'app.js'])).toEqual({
      policy: 'p.egp',
      mode: 'audit',
      command: ['node', 'app.js'],
    });
  });

  it('rejects bad input with stable codes', () => {
    expect(codeOf(() => parseRunArgs(['--policy', 'p.yaml']))).toBe('E_RUN_USAGE');
    expect(codeOf(() => parseRunArgs(['--policy', 'p.yaml', '--']))).toBe('E_RUN_USAGE');
    expect(codeOf(() => parseRunArgs(['--policy']))).toBe('E_RUN_USAGE');
    expect(codeOf(() => parseRunArgs(['--frobnicate', '--', 'true']))).toBe('E_RUN_USAGE');
    expect(codeOf(() => parseRunArgs(['--mode', 'sometimes', '--', 'true']))).toBe('E_RUN_MODE');
  });

  it('prepends the library to LD_PRELOAD exactly once', () => {
    const lib = '/opt/eg/libegressguard.so';
    expect(withPreload(undefined, lib)).toBe(lib);
    expect(withPreload('', lib)).toBe(lib);
    expect(withPreload('/usr/lib/libother.so', lib)).toBe(`${lib}:/usr/lib/libother.so`);
    expect(withPreload(`/usr/lib/libother.so ${lib}`, lib)).toBe(`/usr/lib/libother.so:${lib}`);
    expect(withPreload(withPreload('/a.so', lib), lib)).toBe(`${lib}:/a.so`);
    // another copy of the guard is replaced, never loaded next to ours
    expect(withPreload('/opt/lib/libegressguard.so:/a.so', lib)).toBe(`${lib}:/a.so`);
  });
});

describe.skipIf(!needCommand('gcc'))('run: statically linked commands', () => {
  it('tells static from dynamic ELF files (static, static-pie, dynamic, scripts)', () => {
    const dir = join(scratchDir(), 'elf');
    mkdirSync(dir, { recursive: true });
    const src = join(dir, 'main.c');
    writeFileSync(src, 'int main(void) { return 0; }\n');
    const build = (out: string, flags: string[]) => {
      const r = spawnSync('gcc', [...flags, '-o', join(dir, out), src], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      return join(dir, out);
    };
    expect(isStaticElf(build('static', ['-static']))).toBe(true);
    expect(isStaticElf(build('static-pie', ['-static-pie']))).toBe(true);
    expect(isStaticElf(build('dynamic', []))).toBe(false);
    expect(isStaticElf(src)).toBe(false);
    expect(isStaticElf(join(dir, 'missing'))).toBe(false);
  });

  it('finds the command as execvp would', () => {
    const sh = findExecutable('sh', { PATH: '/nonexistent:/usr/bin:/bin' }, '/');
    expect(sh).toMatch(/^\/(usr\/)?bin\/sh$/);
    expect(findExecutable('no-such-command-eg', { PATH: '/usr/bin:/bin' }, '/')).toBeUndefined();
    expect(findExecutable('./x', { PATH: '' }, '/nonexistent')).toBeUndefined();
  });

  it.skipIf(!needLibrary())(
    'writes one `uncovered` line to the guard log before running a static command',
    async () => {
      const dir = join(scratchDir(), 'elf-run');
      mkdirSync(dir, { recursive: true });
      const src = join(dir, 'main.c');
      writeFileSync(src, 'int main(void) { return 4; }\n');
      const exe = join(dir, 'static-prog');
      expect(spawnSync('gcc', ['-static', '-o', exe, src]).status).toBe(0);
      const log = join(dir, 'guard.log');
      const egp = await compilePolicy(POLICY);
      const r = await runFn(['--policy', egp, '--mode', 'audit', '--log', log, '--', exe]);
      expect(r.status, r.stderr).toBe(4);
      const lines = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toEqual([
        expect.objectContaining({
          name: 'egress-guard',
          event: 'uncovered',
          path: exe,
          reason: 'static',
          mode: 'audit',
          level: 40,
        }),
      ]);
      // a dynamic command gets no such line
      const d = await runFn(['--policy', egp, '--log', join(dir, 'dyn.log'), '--', 'sh', '-c', 'exit 0']);
      expect(d.status).toBe(0);
      expect(existsSync(join(dir, 'dyn.log')) ? readFileSync(join(dir, 'dyn.log'), 'utf8') : '').not.toContain(
        'uncovered',
      );
    },
  );
});

interface Captured {
  status: number;
  stderr: string;
  out: string;
}

/** Calls runCommand with the command's stdout captured in a file and our stderr in a string. */
async function runFn(argv: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<Captured> {
  const outFile = join(scratchDir(), `run-fn-${Math.random().toString(36).slice(2)}.out`);
  const fd = openSync(outFile, 'w');
  let stderr = '';
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, XDG_CACHE_HOME: CACHE_HOME, ...env };
  try {
    const status = await runCommand(argv, {
      stderr: (t) => {
        stderr += t;
      },
      env: base,
      cwd,
      stdio: ['ignore', fd, 'pipe'],
    });
    return { status, stderr, out: readFileSync(outFile, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

const SHOW_ENV =
  'printf "%s\\n" "$LD_PRELOAD" "$EGRESS_GUARD_POLICY" "$EGRESS_GUARD_MODE" "$EGRESS_GUARD_LOG"; head -c 7 "$EGRESS_GUARD_POLICY"; echo';

describe.skipIf(!needLibrary())('run: the environment and exit status it gives the command', () => {
  it('compiles a YAML policy into the cache and passes absolute paths', async () => {
    const cwd = scratchDir();
    const rel = relative(cwd, POLICY);
    const r = await runFn(
      ['--policy', rel, '--mode', 'audit', '--log', 'guard.log', '--', 'sh', '-c', SHOW_ENV],
      { LD_PRELOAD: '' },
      cwd,
    );
    expect(r.status, r.stderr).toBe(0);
    const [preload, policy, mode, log, magic] = r.out.split('\n');
    expect(preload).toBe(LIBRARY);
    expect(policy).toMatch(new RegExp(`^${CACHE_HOME}/egress-guard/policies/[0-9a-f]{64}\\.egp$`));
    expect(mode).toBe('audit');
    expect(log).toBe(join(cwd, 'guard.log'));
    expect(magic).toBe('EGRDPOL');
    expect(existsSync(policy as string)).toBe(true); // kept for the next run of this policy
  });

  it('uses a compiled .egp as is, and never preloads the library twice', async () => {
    const egp = await compilePolicy(POLICY);
    const r = await runFn(['--policy', egp, '--', 'sh', '-c', SHOW_ENV], {
      LD_PRELOAD: `${LIBRARY}`,
      EGRESS_GUARD_MODE: 'enforce',
    });
    expect(r.status, r.stderr).toBe(0);
    const [preload, policy, mode] = r.out.split('\n');
    expect(preload).toBe(LIBRARY);
    expect(policy).toBe(egp);
    expect(mode).toBe('enforce'); // no --mode: the environment's value is kept
  });

  it('takes the policy from EGRESS_GUARD_POLICY when --policy is absent', async () => {
    const egp = await compilePolicy(POLICY);
    const r = await runFn(['--', 'sh', '-c', SHOW_ENV], { EGRESS_GUARD_POLICY: egp });
    expect(r.status, r.stderr).toBe(0);
    expect(r.out.split('\n')[1]).toBe(egp);
  });

  it("returns the command's exit status, 128+n for a signal, 127/126 when it cannot run", async () => {
    const egp = await compilePolicy(POLICY);
    expect((await runFn(['--policy', egp, '--', 'sh', '-c', 'exit 7'])).status).toBe(7);
    expect((await runFn(['--policy', egp, '--', 'sh', '-c', 'kill -KILL $$'])).status).toBe(137);
    expect((await runFn(['--policy', egp, '--', 'sh', '-c', 'kill -TERM $$'])).status).toBe(143);
    const nf = await runFn(['--policy', egp, '--', 'no-such-command-egress-guard']);
    expect(nf.status).toBe(127);
    expect(nf.stderr).toContain('E_RUN_NOT_FOUND');
    const notExec = join(scratchDir(), 'not-executable.sh');
    writeFileSync(notExec, '#!/bin/sh\nexit 0\n');
    chmodSync(notExec, 0o644);
    const ne = await runFn(['--policy', egp, '--', notExec]);
    expect(ne.status).toBe(126);
    expect(ne.stderr).toContain('E_RUN_EXEC');
  });

  it('fails with 125 and a stable code before starting the command', async () => {
    const marker = join(scratchDir(), 'must-not-exist');
    const cmd = ['--', 'sh', '-c', `touch ${marker}`];
    const missing = await runFn(['--policy', '/nonexistent/policy.yaml', ...cmd]);
    expect(missing.status).toBe(125);
    expect(missing.stderr).toContain('E_RUN_POLICY_MISSING');
    const none = await runFn(cmd);
    expect(none.status).toBe(125);
    expect(none.stderr).toContain('E_RUN_NO_POLICY');
    const invalid = await runFn(['--policy', INVALID, ...cmd]);
    expect(invalid.status).toBe(125);
    expect(invalid.stderr).toContain('E_RUN_POLICY_INVALID');
    expect(invalid.stderr).toMatch(new RegExp(`${INVALID}:\\d+:\\d+`)); // the compiler's file:line:col
    const nolib = await runFn(['--policy', POLICY, ...cmd], { EGRESS_GUARD_LIBRARY: '/nonexistent/lib.so' });
    expect(nolib.status).toBe(125);
    expect(nolib.stderr).toContain('E_RUN_LIBRARY_MISSING');
    const usage = await runFn(['--mode', 'loud', ...cmd]);
    expect(usage.status).toBe(125);
    expect(usage.stderr).toContain('E_RUN_MODE');
    expect(existsSync(marker)).toBe(false);
  });

  it('honours EGRESS_GUARD_LIBRARY (absolute path of another copy of the library)', async () => {
    const dir = join(scratchDir(), 'libcopy');
    mkdirSync(dir, { recursive: true });
    const copy = join(dir, 'libegressguard.so');
    copyFileSync(LIBRARY, copy);
    const r = await runFn(['--policy', POLICY, '--', 'sh', '-c', SHOW_ENV], { EGRESS_GUARD_LIBRARY: copy });
    expect(r.status, r.stderr).toBe(0);
    expect(r.out.split('\n')[0]).toBe(copy);
  });
});

describe.skipIf(!needLibrary())('run: through cli()', () => {
  it('is registered: `egress-guard --help` lists it, `run --help` prints its usage', async () => {
    let out = '';
    const io = { stdout: (t: string) => (out += t), stderr: (t: string) => (out += t), cwd: ROOT, env: process.env };
    expect(await cli(['--help'], io)).toBe(0);
    expect(out).toMatch(/^\s+run\s+/m);
    out = '';
    expect(await cli(['run', '--help'], io)).toBe(0);
    expect(out).toBe(`${RUN_USAGE}\n`);
  });

  it('runs the command under the guard and returns its status', async () => {
    const egp = await compilePolicy(POLICY);
    const outFile = join(scratchDir(), 'cli-run.out');
    const fd = openSync(outFile, 'w');
    let stderr = '';
    const io = {
      stdout: () => {},
      stderr: (t: string) => {
        stderr += t;
      },
      cwd: ROOT,
      env: { PATH: process.env.PATH, XDG_CACHE_HOME: CACHE_HOME }, // never the user's own cache
      stdio: ['ignore', fd, 'pipe'] as ['ignore', number, 'pipe'],
    };
    try {
      const status = await cli(
        ['run', '--policy', egp, '--mode', 'enforce', '--', 'sh', '-c', `${SHOW_ENV}; exit 3`],
        io,
      );
      expect(status, stderr).toBe(3);
    } finally {
      closeSync(fd);
    }
    const [preload, policy, mode] = readFileSync(outFile, 'utf8').split('\n');
    expect([preload, policy, mode]).toEqual([LIBRARY, egp, 'enforce']);
    expect(await cli(['run', '--mode', 'loud', '--', 'true'], io)).toBe(125);
    expect(stderr).toContain('E_RUN_MODE');
  });
});

const netOk = needNetns() && needLibrary() && needCommand('python3');
describe.skipIf(!(netOk && needBin()))('run: through the built bin, guarding real programs', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld('egrun');
  });
  afterAll(() => world?.destroy());

  const ops = [
    { op: 'urllib', url: 'http://good.test:8080/' },
    { op: 'create_connection', host: '10.77.0.2', port: 7000, send: 'via-cli' },
  ];

  it('enforce: allowed passes, denied is blocked and logged', async () => {
    const r = await pyProbe(world, ops, { via: 'cli', mode: 'enforce' });
    expect(r.status, explain(r)).toBe(0);
    expect(r.results[0], explain(r)).toMatchObject({ ok: true, status: 200 });
    expect(r.results[1]).toMatchObject({ ok: false, code: 'EACCES' });
    expect(logsWhere(r.logs, { event: 'connect', ip: '10.77.0.2', blocked: true })).toHaveLength(1);
  });

  it('audit: both pass, the denied one is logged as would-block', async () => {
    const r = await pyProbe(world, ops, { via: 'cli', mode: 'audit' });
    expect(r.results[1], explain(r)).toMatchObject({ ok: true, echo: 'via-cli' });
    expect(logsWhere(r.logs, { event: 'connect', ip: '10.77.0.2', decision: 'deny', blocked: false })).toHaveLength(1);
  });

  it('forwards SIGTERM to the command and exits 128+15', async () => {
    const started = join(scratchDir(), 'sigterm-started');
    const script = `touch ${started}; exec sleep 30`;
    const child = spawn(process.execPath, [BIN, 'run', '--policy', POLICY, '--', 'sh', '-c', script], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    for (let i = 0; i < 200 && !existsSync(started); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(started)).toBe(true);
    child.kill('SIGTERM');
    const r = await runChild(child, undefined, 10_000);
    expect(r.status, r.stderr).toBe(143);
  });

  it('exits 125 with the compiler diagnostics on an invalid policy', async () => {
    const child = spawn(process.execPath, [BIN, 'run', '--policy', INVALID, '--', 'true'], { stdio: 'pipe' });
    const r = await runChild(child);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('E_RUN_POLICY_INVALID');
  });
});
