/**
 * The exec wrapper (native/wrapper, the binary the layer ships) run for real, with the real interposer preloaded:
 * LD_PRELOAD handling, policy discovery, chaining (and not to itself), exec in place with awkward arguments, the
 * command found on PATH, silence, no external command on the happy path, the handler left alone (the agent meters
 * every runtime; the wrapper never redirects it), and its two error lines.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInputs, layerSources, prebuild } from '../../layer/build/build-layer.js';

let dir = '';
let opt = '';
let lib = '';
let probe = '';
/** A real, harmless system library to stand for "something already preloaded". */
const otherLib = [
  '/lib/x86_64-linux-gnu/libm.so.6',
  '/lib/aarch64-linux-gnu/libm.so.6',
  '/lib64/libm.so.6',
  '/usr/lib64/libm.so.6',
].find((p) => existsSync(p));

beforeAll(async () => {
  await prebuild([process.arch === 'arm64' ? 'arm64' : 'x86_64']);
  buildInputs([process.arch === 'arm64' ? 'arm64' : 'x86_64']);
  const src = layerSources(process.arch === 'arm64' ? 'arm64' : 'x86_64');
  dir = mkdtempSync(join(tmpdir(), 'eg-wrapper-'));
  opt = join(dir, 'opt');
  mkdirSync(join(opt, 'egress-guard', 'lib'), { recursive: true });
  copyFileSync(src['egress-guard/wrapper'] as string, join(opt, 'egress-guard', 'wrapper'));
  chmodSync(join(opt, 'egress-guard', 'wrapper'), 0o755);
  lib = join(opt, 'egress-guard', 'lib', 'libegressguard.so');
  copyFileSync(src['egress-guard/lib/libegressguard.so'] as string, lib);
  probe = join(dir, 'probe.mjs');
  writeFileSync(
    probe,
    'process.stdout.write(JSON.stringify({ pid: process.pid, argv: process.argv.slice(2), env: process.env }));\nprocess.exitCode = Number(process.env.PROBE_EXIT ?? 0);\n',
  );
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Probe {
  pid: number;
  argv: string[];
  env: Record<string, string | undefined>;
}

function wrap(cmd: string[], env: Record<string, string | undefined> = {}, wrapper?: string) {
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    EGRESS_GUARD_OPT: opt,
    EGRESS_GUARD_MODE: 'audit',
    EGRESS_GUARD_LOG: 'off',
    EGRESS_GUARD_STATE: join(dir, 'state', 'state'),
    _HANDLER: 'index.handler',
  };
  const fullEnv: Record<string, string> = { ...base };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete fullEnv[k];
    else fullEnv[k] = v;
  }
  const r = spawnSync(wrapper ?? join(opt, 'egress-guard', 'wrapper'), cmd, {
    env: fullEnv,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return r;
}

function probeRun(args: string[] = [], env: Record<string, string | undefined> = {}) {
  const r = wrap([process.execPath, probe, ...args], env);
  const out = r.stdout ? (JSON.parse(r.stdout) as Probe) : undefined;
  return { r, out };
}

describe('exec wrapper', () => {
  it('preloads the interposer by absolute path, leaves the handler alone, and prints nothing', () => {
    // Act
    const { r, out } = probeRun([], { PYTHONPATH: '/var/runtime' });
    // Assess
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(out?.env.LD_PRELOAD).toBe(lib);
    expect(out?.env._HANDLER).toBe('index.handler');
    expect(out?.env.EGRESS_GUARD_ORIGINAL_HANDLER).toBeUndefined();
    expect(out?.env.PYTHONPATH).toBe('/var/runtime');
  });

  it('runs no external command on the happy path (PATH holds nothing)', () => {
    const empty = join(dir, 'empty-path');
    mkdirSync(empty, { recursive: true });
    const { r, out } = probeRun([], { PATH: empty });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(out?.env.LD_PRELOAD).toBe(lib);
  });

  it('execs in place (same pid) and passes awkward arguments and the exit status through untouched', () => {
    const awkward = ['two words', "it's", '"double"', '$HOME', '`id`', 'back\\slash', 'new\nline', '', '*', '-n', ' '];
    const r = wrap([process.execPath, probe, ...awkward], { PROBE_EXIT: '7' });
    const out = JSON.parse(r.stdout) as Probe;
    expect(out.argv).toEqual(awkward);
    expect(out.pid).toBe(r.pid);
    expect(r.status).toBe(7);
    expect(r.stderr).toBe('');
  });

  it('prepends to an existing LD_PRELOAD once, and never adds itself twice', () => {
    if (otherLib) {
      expect(probeRun([], { LD_PRELOAD: otherLib }).out?.env.LD_PRELOAD).toBe(`${lib}:${otherLib}`);
    }
    // With the library already preloaded the wrapper hands the runtime LD_PRELOAD in canonical form (ld.so's
    // separators as ':', the operator's order kept, the guard once), as the interposer's exec hook does.
    for (const preset of [lib, `${lib} `, ...(otherLib ? [`${otherLib}:${lib}`, `${otherLib} ${lib}`] : [])]) {
      expect(probeRun([], { LD_PRELOAD: preset }).out?.env.LD_PRELOAD).toBe(preset.trim().replace(' ', ':'));
    }
    // The wrapper run twice (as when it is chained to itself): still one entry.
    const w = join(opt, 'egress-guard', 'wrapper');
    const r = wrap([w, process.execPath, probe]);
    const out = JSON.parse(r.stdout) as Probe;
    expect(out.env.LD_PRELOAD).toBe(lib);
    expect(r.stderr).toBe('');
  });

  it('ignores EGRESS_GUARD_NEXT_WRAPPER naming itself, by its path or through another name', () => {
    const w = join(opt, 'egress-guard', 'wrapper');
    const alias = join(dir, 'wrapper-alias');
    if (!existsSync(alias)) symlinkSync(w, alias);
    for (const next of [w, alias]) {
      const { r, out } = probeRun(['x'], { EGRESS_GUARD_NEXT_WRAPPER: next });
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(out?.argv).toEqual(['x']);
      expect(out?.env.LD_PRELOAD).toBe(lib);
      expect(out?.env.EGRESS_GUARD_NEXT_WRAPPER).toBeUndefined();
    }
  });

  it('finds a command without a slash on PATH, and runs a file without #! through /bin/sh', () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const script = join(bin, 'eg-noshebang');
    writeFileSync(script, `printf '%s|' "$LD_PRELOAD" "$@"\n`);
    chmodSync(script, 0o755);
    const r = wrap(['eg-noshebang', 'a b', ''], { PATH: `/nonexistent:${bin}:/usr/bin:/bin` });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${lib}|a b||`);
  });

  it('a command that cannot be executed: one coded line, exit 127 (not found) or 126', () => {
    const missing = wrap([join(dir, 'no-such-runtime'), 'x']);
    expect(missing.status).toBe(127);
    expect(missing.stdout).toBe('');
    const line = JSON.parse(missing.stderr.trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ name: 'egress-guard', event: 'wrapper', error: 'E_WRAPPER_EXEC', level: 50 });
    expect(line.msg).toContain('no-such-runtime');
    const notExec = join(dir, 'not-executable');
    writeFileSync(notExec, '');
    chmodSync(notExec, 0o644);
    const denied = wrap([notExec]);
    expect(denied.status).toBe(126);
    expect(JSON.parse(denied.stderr.trim())).toMatchObject({ error: 'E_WRAPPER_EXEC' });
    expect(wrap([]).status).toBe(0); // nothing to run, as `exec` alone
  });

  it('chains to the wrapper named in EGRESS_GUARD_NEXT_WRAPPER, which then execs the runtime', () => {
    const next = join(dir, 'next.sh');
    const log = join(dir, 'next.log');
    writeFileSync(next, `#!/bin/sh\nprintf '%s|' "$LD_PRELOAD" "$#" "$@" > '${log}'\nexec "$@"\n`);
    chmodSync(next, 0o755);
    const { r, out } = probeRun(['a b', "c'd"], { EGRESS_GUARD_NEXT_WRAPPER: next });
    expect(r.stderr).toBe('');
    expect(readFileSync(log, 'utf8')).toBe(`${lib}|4|${process.execPath}|${probe}|a b|c'd|`);
    expect(out?.argv).toEqual(['a b', "c'd"]);
    expect(out?.env.EGRESS_GUARD_NEXT_WRAPPER).toBeUndefined();
  });

  it('finds the policy: explicit, then the function package, then the layer default', () => {
    const task = join(dir, 'task');
    mkdirSync(task, { recursive: true });
    const layerDefault = join(opt, 'egress-guard', 'policy.egp');
    writeFileSync(layerDefault, 'x');
    try {
      expect(probeRun([], { LAMBDA_TASK_ROOT: task }).out?.env.EGRESS_GUARD_POLICY).toBe(layerDefault);
      writeFileSync(join(task, 'egress-policy.egp'), 'x');
      expect(probeRun([], { LAMBDA_TASK_ROOT: task }).out?.env.EGRESS_GUARD_POLICY).toBe(
        join(task, 'egress-policy.egp'),
      );
      expect(probeRun([], { LAMBDA_TASK_ROOT: task, EGRESS_GUARD_POLICY: '/p.egp' }).out?.env.EGRESS_GUARD_POLICY).toBe(
        '/p.egp',
      );
    } finally {
      rmSync(layerDefault);
    }
    expect(probeRun([], {}).out?.env.EGRESS_GUARD_POLICY).toBeUndefined();
  });

  it('leaves everything but chaining alone in mode off', () => {
    const off = probeRun([], { EGRESS_GUARD_MODE: 'off' }).out;
    expect(off?.env.LD_PRELOAD).toBeUndefined();
    expect(off?.env._HANDLER).toBe('index.handler');
  });

  it('without the library: audit logs one coded line and runs unguarded; enforce refuses to start', () => {
    const emptyOpt = join(dir, 'empty "quoted\\" \u0001 dir'); // the error line stays valid JSON
    mkdirSync(join(emptyOpt, 'egress-guard'), { recursive: true });
    copyFileSync(join(opt, 'egress-guard', 'wrapper'), join(emptyOpt, 'egress-guard', 'wrapper'));
    const audit = probeRun([], { EGRESS_GUARD_OPT: emptyOpt });
    expect(audit.r.status).toBe(0);
    const lines = audit.r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      name: 'egress-guard',
      event: 'wrapper',
      error: 'E_WRAPPER_LIB_MISSING',
      level: 50,
    });
    expect(JSON.parse(lines[0] ?? '').msg).toContain(emptyOpt);
    expect(audit.out?.env.LD_PRELOAD).toBeUndefined();
    const enforce = probeRun([], { EGRESS_GUARD_OPT: emptyOpt, EGRESS_GUARD_MODE: 'enforce' });
    expect(enforce.r.status).toBe(78);
    expect(enforce.r.stdout).toBe('');
  });
});
