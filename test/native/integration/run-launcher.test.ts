// The native launcher of `egress-guard run` (native/launcher/, docs/POLICY.md "The launcher and its records"), as real
// processes: a record's hit starts the command without Node.js (observable: the command's pid is the launcher's own,
// since the launcher execs it; on the Node.js path the command is a child of node), every change of what the run
// depended on (the policy's or a names file's bytes even with the same size and date, options, the record, the cache
// entry) takes the Node.js path, and both paths give the command the same environment, stderr and enforcement.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need, needCommand } from '../../support/capability.js';
import { BIN, LIBRARY, needBin, needLibrary, ROOT, scratchDir } from '../../support/guard.js';

const LAUNCHER = join(ROOT, 'native/build/egress-guard-run');
const needLauncher = () =>
  need('egress-guard-run', existsSync(LAUNCHER), `${LAUNCHER} is not built (run \`make -C native\`)`);

/**
 * The command's pid first, then the whole environment it started with (sorted; `export -p`, the shell's own: a child
 * such as env(1) would show what the guard gives children), then the policy's magic.
 */
const SHOW = 'echo "$$"; export -p | LC_ALL=C sort; head -c 7 "$EGRESS_GUARD_POLICY"; echo';

interface Setup {
  dir: string;
  cache: string;
  policy: string;
  list: string;
  env: NodeJS.ProcessEnv;
}

/** A policy with a names file and one warning, both dated a minute ago, and an empty cache home. */
function setup(): Setup {
  const dir = mkdtempSync(join(scratchDir(), 'launcher-'));
  const list = join(dir, 'list.txt');
  const policy = join(dir, 'policy.yaml');
  writeFileSync(list, 'a.example.com\nb.example.com\n');
  writeFileSync(
    policy,
    [
      'version: 1',
      'mode: enforce',
      'allow:',
      '  - host: api.example.com',
      '  - host: old.example.com',
      '  - hosts_file: list.txt',
      'deny:',
      '  - host: old.example.com',
      '  - cidr: 127.0.0.2/32',
      '',
    ].join('\n'),
  );
  age(list, policy);
  const cache = join(dir, 'xdg');
  const env = { PATH: process.env.PATH, XDG_CACHE_HOME: cache, EGRESS_GUARD_LIBRARY: LIBRARY, EGRESS_GUARD_LOG: 'off' };
  return { dir, cache, policy, list, env };
}

/** Dates files a minute back (the cache keeps no manifest for names files changed in the last second). */
function age(...files: string[]): void {
  const t = Date.now() / 1000 - 60;
  for (const f of files) utimesSync(f, t, t);
}

/** Rewrites a file with other bytes of the same size and puts its dates back: only its content tells. */
function sameSizeSameDate(file: string, from: string, to: string): void {
  expect(to.length).toBe(from.length);
  const st = statSync(file);
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
  utimesSync(file, st.atime, st.mtime);
  expect(statSync(file).size).toBe(st.size);
  expect(statSync(file).mtimeMs).toBe(st.mtimeMs);
}

/** A variable's value in `export -p` lines (`export NAME='value'`; our values hold no quote). */
const variable = (lines: string[], name: string): string | undefined =>
  lines.find((l) => l.startsWith(`export ${name}=`))?.replace(/^[^=]*='?(.*?)'?$/, '$1');

interface Launched {
  status: number | null;
  stderr: string;
  /** true when the command ran as the launcher's own process: Node.js was not started */
  fast: boolean;
  env: string[];
  policy: string;
  magic: string;
}

/** The launcher with run's arguments `args` (then `-- sh -c SHOW`, unless args holds its own `--`). */
function launch(s: Setup, args: string[] = ['--policy', s.policy], cmd = ['sh', '-c', SHOW]): Launched {
  const r = spawnSync(LAUNCHER, [...args, '--', ...cmd], { encoding: 'utf8', env: s.env, cwd: s.dir });
  const lines = r.stdout.split('\n');
  const pid = Number(lines[0]);
  const env = lines.slice(1, -2);
  return {
    status: r.status,
    stderr: r.stderr,
    fast: pid === r.pid,
    env,
    policy: variable(env, 'EGRESS_GUARD_POLICY') ?? '',
    magic: lines.at(-2) ?? '',
  };
}

const launchDir = (s: Setup) => join(s.cache, 'egress-guard', 'launch');
const records = (s: Setup) => readdirSync(launchDir(s)).filter((n) => n.endsWith('.launch'));

/** A first run (Node.js, writes the record) and a second (the record's hit); both must succeed. */
function warm(s: Setup, args?: string[]): [Launched, Launched] {
  const slow = launch(s, args);
  expect(slow.status, slow.stderr).toBe(0);
  expect(slow.fast).toBe(false);
  const fast = launch(s, args);
  expect(fast.status, fast.stderr).toBe(0);
  expect(fast.fast, 'the second identical run is a hit').toBe(true);
  return [slow, fast];
}

describe.skipIf(!(needLibrary() && needBin() && needLauncher()))('run: the native launcher', () => {
  it('an unchanged policy starts the command without Node.js, with the same environment and stderr', () => {
    const s = setup();
    const [slow, fast] = warm(s);
    expect(fast.env).toEqual(slow.env);
    expect(fast.stderr).toBe(slow.stderr);
    expect(fast.stderr).toContain('ALLOW_CANCELLED_BY_DENY'); // the compile's warning, again
    expect(fast.magic).toBe('EGRDPOL');
    expect(fast.policy.startsWith(join(s.cache, 'egress-guard/policies/'))).toBe(true);
    expect(variable(fast.env, 'LD_PRELOAD')).toBe(LIBRARY);
    // what the direct CLI gives the command is the same too
    const cli = spawnSync(process.execPath, [BIN, 'run', '--policy', s.policy, '--', 'sh', '-c', SHOW], {
      encoding: 'utf8',
      env: s.env,
      cwd: s.dir,
    });
    expect(cli.stdout.split('\n').slice(1, -2)).toEqual(fast.env);
    // one private record
    expect(records(s)).toHaveLength(1);
    expect(statSync(launchDir(s)).mode & 0o777).toBe(0o700);
    expect(statSync(join(launchDir(s), records(s)[0] as string)).mode & 0o777).toBe(0o600);
  });

  it('a changed policy (same size, same date) takes the Node.js path and is compiled again', () => {
    const s = setup();
    const [, fast] = warm(s);
    sameSizeSameDate(s.policy, 'api.example.com', 'apx.example.com');
    const after = launch(s);
    expect(after.status, after.stderr).toBe(0);
    expect(after.fast).toBe(false);
    expect(after.policy).not.toBe(fast.policy);
    const again = launch(s);
    expect(again.fast).toBe(true);
    expect(again.policy).toBe(after.policy);
  });

  it('a changed names file (same size, same date) takes the Node.js path and is compiled again', () => {
    const s = setup();
    const [, fast] = warm(s);
    sameSizeSameDate(s.list, 'b.example.com', 'c.example.com');
    const after = launch(s);
    expect(after.status, after.stderr).toBe(0);
    expect(after.fast).toBe(false);
    expect(after.policy).not.toBe(fast.policy);
    expect(launch(s).fast).toBe(true);
  });

  it('other options, another command word or another variable value is another record', () => {
    const s = setup();
    const [, plain] = warm(s);
    const [, audit] = warm(s, ['--policy', s.policy, '--mode', 'audit']);
    expect(variable(audit.env, 'EGRESS_GUARD_MODE')).toBe('audit');
    expect(variable(plain.env, 'EGRESS_GUARD_MODE')).toBeUndefined();
    const [, logged] = warm(s, ['-p', s.policy, '--log=guard.log']);
    expect(variable(logged.env, 'EGRESS_GUARD_LOG')).toBe(join(s.dir, 'guard.log'));
    expect(launch(s).fast).toBe(true); // the first record is still there
    const other = spawnSync(LAUNCHER, ['--policy', s.policy, '--', '/bin/sh', '-c', 'echo $$'], {
      encoding: 'utf8',
      env: s.env,
      cwd: s.dir,
    });
    expect(other.status, other.stderr).toBe(0);
    expect(Number(other.stdout.trim())).not.toBe(other.pid);
    const moreEnv = { ...s, env: { ...s.env, EGRESS_GUARD_POLICY: s.policy } };
    expect(launch(moreEnv).fast).toBe(false);
    expect(launch(moreEnv).fast).toBe(true);
    expect(records(s)).toHaveLength(5);
  });

  it('a corrupt, truncated or foreign record, or a changed cache entry, takes the Node.js path', () => {
    const s = setup();
    const [, fast] = warm(s);
    const rec = join(launchDir(s), records(s)[0] as string);
    const good = readFileSync(rec);
    const flip = (b: Buffer, at: number) =>
      Buffer.concat([b.subarray(0, at), Buffer.from([b[at]! ^ 1]), b.subarray(at + 1)]);
    const stampAt = good.indexOf(`stat\0${LIBRARY}\0`) + LIBRARY.length + 7; // inside the library's stamp
    const corruptions: Buffer[] = [
      good.subarray(0, good.length - 5), // no `end`
      flip(good, 3), // the magic
      flip(good, stampAt), // the library's stamp
      Buffer.concat([good, Buffer.from('warn\0extra\0')]), // something after `end`
      Buffer.from('garbage'),
    ];
    for (const bytes of corruptions) {
      writeFileSync(rec, bytes);
      const r = launch(s);
      expect(r.status, r.stderr).toBe(0);
      expect(r.fast).toBe(false);
      expect(readFileSync(rec).equals(good)).toBe(true); // the Node CLI wrote it again
    }
    chmodSync(launchDir(s), 0o770); // not private: not trusted (the CLI sets it back to 0700)
    expect(launch(s).fast).toBe(false);
    expect(statSync(launchDir(s)).mode & 0o777).toBe(0o700);
    chmodSync(rec, 0o644);
    expect(launch(s).fast).toBe(false);
    expect(statSync(rec).mode & 0o777).toBe(0o600);
    expect(launch(s).fast).toBe(true);
    // the cached .egp altered in place: the launcher sees its stamp change, the CLI compiles it again
    const egp = readFileSync(fast.policy);
    writeFileSync(fast.policy, flip(egp, 100));
    const r = launch(s);
    expect(r.fast).toBe(false);
    expect(r.policy).toBe(fast.policy);
    expect(readFileSync(fast.policy).equals(egp)).toBe(true);
    expect(launch(s).fast).toBe(true);
  });

  it('a command that resolves to another file takes the Node.js path', () => {
    const s = setup();
    const bin = join(s.dir, 'bin');
    const cmd = ['probe'];
    const env = { ...s.env, PATH: `${bin}:${s.env.PATH}` };
    mkdirSync(bin);
    writeFileSync(join(bin, 'probe'), `#!/bin/sh\n${SHOW}\n`, { mode: 0o755 });
    const t = { ...s, env };
    expect(launch(t, undefined, cmd).fast).toBe(false);
    expect(launch(t, undefined, cmd).fast).toBe(true);
    writeFileSync(join(bin, 'probe'), `#!/bin/sh\n${SHOW}\n# changed\n`, { mode: 0o755 });
    expect(launch(t, undefined, cmd).fast).toBe(false);
  });

  it("exit status: the command's own on both paths; a signal death is the process's own on the fast path", () => {
    const s = setup();
    const go = (script: string) =>
      spawnSync(LAUNCHER, ['--policy', s.policy, '--', 'sh', '-c', script], {
        encoding: 'utf8',
        env: s.env,
        cwd: s.dir,
      });
    expect([go('exit 7').status, go('exit 7').status]).toEqual([7, 7]); // the Node.js path, then the fast path
    const fast = go('kill -TERM $$'); // the record of `sh` is in place: the script is not part of its key
    expect(fast.signal).toBe('SIGTERM'); // the command is the launcher's process: a shell shows 143 for it
    const viaNode = spawnSync(process.execPath, [BIN, 'run', '--policy', s.policy, '--', 'sh', '-c', 'kill -TERM $$'], {
      encoding: 'utf8',
      env: s.env,
      cwd: s.dir,
    });
    expect(viaNode.signal).toBeNull(); // the Node CLI reports it as an exit status
    expect(viaNode.status).toBe(143);
  });

  it('run --help and usage errors are the Node CLI output, unchanged', () => {
    const s = setup();
    const cli = spawnSync(process.execPath, [BIN, 'run', '--help'], { encoding: 'utf8', env: s.env });
    const viaLauncher = spawnSync(LAUNCHER, ['--help'], { encoding: 'utf8', env: s.env });
    expect(viaLauncher.status).toBe(0);
    expect(viaLauncher.stdout).toBe(cli.stdout);
    expect(viaLauncher.stdout).toContain('--no-cache');
    const bad = spawnSync(LAUNCHER, ['--bogus', '--', 'true'], { encoding: 'utf8', env: s.env });
    expect(bad.status).toBe(125);
    expect(bad.stderr).toContain('E_RUN_USAGE');
    expect(existsSync(launchDir(s)) ? records(s) : []).toHaveLength(0);
  });
});

const pyOk = needCommand('python3');
describe.skipIf(!(needLibrary() && needBin() && needLauncher() && pyOk))(
  'run: the launcher, with Python probes',
  () => {
    let allowed: Server;
    let denied: Server;
    let port = 0;
    beforeAll(async () => {
      allowed = createServer((c) => c.end());
      await new Promise<void>((r) => allowed.listen(0, '127.0.0.1', r));
      port = (allowed.address() as { port: number }).port;
      denied = createServer((c) => c.end());
      await new Promise<void>((r) => denied.listen(port, '127.0.0.2', r));
    });
    afterAll(() => {
      allowed?.close();
      denied?.close();
    });

    it('the command gets default signal actions and no blocked signal on both paths (an ignored SIGHUP is reset)', () => {
      const s = setup();
      const probe =
        'import os, signal; print(os.getpid()); print(int(signal.getsignal(signal.SIGHUP)), signal.getsignal(signal.SIGINT) == signal.SIG_IGN, sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])))';
      const go = () => {
        // nohup-like: SIGHUP and SIGINT ignored in the launcher's parent, inherited by the launcher
        const r = spawnSync(
          'sh',
          ['-c', 'trap "" HUP INT; exec "$@"', 'sh', LAUNCHER, '--policy', s.policy, '--', 'python3', '-c', probe],
          { encoding: 'utf8', env: s.env, cwd: s.dir },
        );
        expect(r.status, r.stderr).toBe(0);
        const [pid, dispositions] = r.stdout.trim().split('\n');
        return { fast: Number(pid) === r.pid, dispositions };
      };
      const slow = go();
      const fast = go();
      expect([slow.fast, fast.fast]).toEqual([false, true]);
      expect(slow.dispositions).toBe('0 False []'); // HUP at SIG_DFL, INT not ignored (Python's handler), none blocked
      expect(fast.dispositions).toBe(slow.dispositions);
    });

    it('blocks the same connect on both paths (enforce), and lets the same one through', () => {
      const s = setup();
      const probe = [
        'import os, socket, sys',
        'print(os.getpid())',
        'for host in ("127.0.0.1", "127.0.0.2"):',
        '    try:',
        `        socket.create_connection((host, ${port}), timeout=5).close(); print(host, "ok")`,
        '    except OSError as e:',
        '        print(host, e.__class__.__name__, e.errno)',
      ].join('\n');
      const go = () => {
        const r = spawnSync(LAUNCHER, ['--policy', s.policy, '--', 'python3', '-c', probe], {
          encoding: 'utf8',
          env: s.env,
          cwd: s.dir,
        });
        expect(r.status, r.stderr).toBe(0);
        const [pid, ...rest] = r.stdout.trim().split('\n');
        return { fast: Number(pid) === r.pid, lines: rest };
      };
      const slow = go();
      const fast = go();
      expect([slow.fast, fast.fast]).toEqual([false, true]);
      expect(slow.lines).toEqual(['127.0.0.1 ok', '127.0.0.2 PermissionError 13']);
      expect(fast.lines).toEqual(slow.lines);
    });
  },
);
