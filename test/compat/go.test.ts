/**
 * Runtime compatibility: Go (built once per run by ./support/build.ts with the Go toolchain, found explicitly).
 * - `cgo` build (`CGO_ENABLED=1 -tags netcgo`): dynamically linked, names through libc getaddrinfo — but Go opens
 *   and connects sockets with raw system calls, never through libc.
 * - `static` build (`CGO_ENABLED=0`): statically linked, no ELF interpreter: LD_PRELOAD cannot load at all. It is run
 *   the way a custom runtime's `bootstrap` script would: a guarded `sh` execs it, and the guard must log one
 *   `uncovered` warning naming it.
 * Scenario and verdicts: ./support/scenario.ts, ./support/verdict.ts; the table: docs/COMPATIBILITY.md.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need, needNetns } from '../support/capability.js';
import { logsWhere, needBin, needLibrary, ROOT } from '../support/guard.js';
import { buildGo, CLIENTS, findGo, GO_STATIC_NAME, type GoBuild, isStaticElf } from './support/build.js';
import { assertRun, type ClientExpectation, WORKS } from './support/expect.js';
import { type ClientRun, type ClientSpec, CompatLab, describeRun, runAll, stepOf, toRow } from './support/harness.js';
import { type ResultFact, writeResults } from './support/results.js';
import { MODES, STEPS } from './support/scenario.js';

const go = findGo();
const ok =
  needNetns() &&
  needLibrary() &&
  needBin() &&
  need('go', go !== undefined, 'no /usr/local/go/bin/go and no `go` on PATH');
const version = go ? (/go(\d+\.\d+)/.exec(spawnSync(go, ['version'], { encoding: 'utf8' }).stdout)?.[1] ?? '?') : '?';

function specs(bin: GoBuild): ClientSpec[] {
  return [
    {
      runtime: 'Go',
      version,
      client: 'cgo',
      api: '`net/http`, `net` — cgo build (`-tags netcgo`)',
      steps: [...STEPS],
      cmd: bin.cgo,
      args: [],
      how: 'names: libc getaddrinfo (cgo); sockets: raw system calls (Go never calls libc `connect`/`sendto`)',
    },
    {
      runtime: 'Go',
      version,
      client: 'static',
      api: "`net/http`, `net` — static build (`CGO_ENABLED=0`), exec'd by a guarded `sh`",
      steps: [...STEPS],
      cmd: 'sh',
      args: ['-c', 'exec "$0" "$@"', bin.static],
      how: "statically linked: Go's own resolver and raw system calls; LD_PRELOAD cannot load",
    },
    {
      runtime: 'Go',
      version,
      client: 'proxy',
      api: '`net/http` — static build in proxy mode (`HTTP_PROXY` → `egress-guard-proxy`)',
      steps: [...STEPS],
      cmd: 'sh',
      args: [join(CLIENTS, 'go/proxy-mode.sh'), join(ROOT, 'native/build/egress-guard-proxy'), bin.static],
      how:
        'HTTP goes to the egress proxy, which decides the requested name and port (docs/PROXY.md); UDP and direct ' +
        'dials are not proxied, so not seen',
    },
  ];
}

const missed = { audit: 'missed', enforce: 'missed' } as const;

const EXPECT: Record<string, ClientExpectation> = {
  cgo: {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': {
        audit: 'logged',
        enforce: 'blocked',
        errno: 'EAI_NONAME',
        sees: '*url.Error > *net.OpError > *net.DNSError[no such host]',
      },
      'denied-ip': missed,
      udp: missed,
    },
  },
  static: {
    allowLogged: false,
    steps: { allowed: WORKS, 'denied-name': missed, 'denied-ip': missed, udp: missed },
  },
  proxy: {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': { audit: 'logged', enforce: 'blocked', sees: 'HTTP 403' },
      'denied-ip': { audit: 'logged', enforce: 'blocked', sees: 'HTTP 403' },
      udp: missed,
    },
  },
};

describe.skipIf(!ok)('compat: Go', () => {
  let lab: CompatLab;
  let runs: Map<string, ClientRun>;
  let bin: GoBuild;
  let SPECS: ClientSpec[] = [];
  const facts: ResultFact[] = [];

  beforeAll(async () => {
    bin = buildGo(go as string);
    SPECS = specs(bin);
    lab = await CompatLab.open('egcgo');
    runs = await runAll(lab, SPECS, 4);
  }, 600_000);

  afterAll(() => {
    lab?.destroy();
    if (runs?.size)
      writeResults(
        'go',
        SPECS.map((s) => toRow(s, runs)),
        facts,
      );
  });

  it('the builds are what they claim: cgo is dynamically linked, static has no ELF interpreter', () => {
    expect(isStaticElf(bin.cgo)).toBe(false);
    expect(isStaticElf(bin.static)).toBe(true);
  });

  for (const client of Object.keys(EXPECT)) {
    for (const mode of MODES) {
      it(`${client} [${mode}]`, () => {
        assertRun(runs.get(`${client}/${mode}`), EXPECT[client] as ClientExpectation, mode);
      });
    }
  }

  for (const mode of MODES) {
    it(`static [${mode}]: the guarded shell that execs it logs exactly one uncovered warning naming it`, () => {
      const run = runs.get(`static/${mode}`);
      const ctx = describeRun(run);
      const lines = run?.uncovered ?? [];
      expect(lines.length, ctx).toBe(1);
      expect(lines[0]?.path, ctx).toBe(bin.static);
      expect(lines[0]?.level, ctx).toBe(40);
      // Nothing else about the static binary's traffic can be logged: the guard is not inside it.
      expect(logsWhere(run?.guard.logs ?? [], { event: 'connect' }), ctx).toEqual([]);
    });
  }

  it('cgo: the guard is loaded (names are checked) yet never sees a connect or a send', () => {
    const run = runs.get('cgo/audit');
    const ctx = describeRun(run);
    expect(logsWhere(run?.guard.logs ?? [], { event: 'dns' }).length > 0, ctx).toBe(true);
    const sockets = (run?.guard.logs ?? []).filter((l) => l.event === 'connect' || l.event === 'sendto');
    expect(sockets, ctx).toEqual([]);
    expect(run?.uncovered, ctx).toEqual([]);
  });

  it('static, started by `egress-guard run`: the CLI logs one uncovered line naming it, then runs it unguarded', async () => {
    const spec = { ...(SPECS[1] as ClientSpec), client: 'static-run', cmd: bin.static, args: [] };
    const run = await lab.run(spec, 'enforce', { via: 'cli' });
    const ctx = describeRun(run);
    expect(run.guard.status, ctx).toBe(0);
    expect(run.uncovered.length, ctx).toBe(1);
    expect(run.uncovered[0]?.path, ctx).toBe(bin.static);
    expect(run.uncovered[0]?.reason, ctx).toBe('static');
    expect(run.uncovered[0]?.call, ctx).toBe('egress-guard run');
    expect(stepOf(run, 'denied-ip').verdict, ctx).toBe('missed');
    facts.push({
      id: 'go-static-run',
      runtime: 'Go',
      title: `a static binary started with \`egress-guard run -- ${GO_STATIC_NAME}\``,
      outcome:
        '`egress-guard run` logs one `uncovered` line naming it (`reason: static`, `call: egress-guard run`), then runs ' +
        'it; its traffic is not seen',
    });
  });

  it('static, started directly with LD_PRELOAD in its environment (no guarded parent): nothing can warn', async () => {
    const spec = { ...(SPECS[1] as ClientSpec), client: 'static-direct', cmd: bin.static, args: [] };
    const run = await lab.run(spec, 'enforce');
    const ctx = describeRun(run);
    expect(run.guard.status, ctx).toBe(0);
    // The loader never maps the library into a static binary, and env(1) that started it was not guarded itself.
    expect(run.guard.logs, ctx).toEqual([]);
    expect(stepOf(run, 'denied-ip').verdict, ctx).toBe('missed');
    facts.push({
      id: 'go-static-direct',
      runtime: 'Go',
      title: `a static binary started directly with LD_PRELOAD set (\`env LD_PRELOAD=… ${GO_STATIC_NAME}\`)`,
      outcome: 'it runs unguarded and the guard writes nothing at all: only a guarded parent that execs it can warn',
    });
  });
});
