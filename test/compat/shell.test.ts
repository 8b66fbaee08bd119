/**
 * Runtime compatibility: curl, `sh -c` (dash) with child processes, and bash's own /dev/tcp and /dev/udp.
 * - curl: one curl process doing every TCP step (`--next` between transfers).
 * - `sh -c`: the shell does no networking; its children (`getent`, `curl`, a `bash` grandchild) inherit the guard.
 * - bash: the guarded bash process itself resolves and connects (/dev/tcp/HOST/PORT, /dev/udp/IP/PORT).
 * Also measured: a child started without LD_PRELOAD is guarded anyway (the exec hook writes the guard back).
 * Scenario and verdicts: ./support/scenario.ts, ./support/verdict.ts; the table: docs/COMPATIBILITY.md.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needCommand, needNetns } from '../support/capability.js';
import { logsWhere, needLibrary } from '../support/guard.js';
import { CLIENTS } from './support/build.js';
import { assertRun, type ClientExpectation, WORKS } from './support/expect.js';
import { type ClientRun, type ClientSpec, CompatLab, describeRun, runAll, toRow } from './support/harness.js';
import { type ResultFact, writeResults } from './support/results.js';
import { DENIED_LITERAL_IP, HTTP_PORT, MODES, STEPS } from './support/scenario.js';
import type { ProgramStep } from './support/verdict.js';

const ok =
  needNetns() && needLibrary() && needCommand('curl') && needCommand('bash') && needCommand('getent', '--help');

function out(cmd: string, args: string[]): string {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 }).stdout ?? '';
}
const majorMinor = (s: string) => /(\d+\.\d+)/.exec(s)?.[1] ?? '?';

/** curl's answers: `-w` prints `COMPAT\tstep\t<exit code>\t<error message>` per transfer. */
function parseCurl(stdout: string): Map<string, ProgramStep> {
  const m = new Map<string, ProgramStep>();
  for (const line of stdout.split('\n')) {
    const [tag, step, code, msg] = line.split('\t');
    if (tag !== 'COMPAT' || step === undefined || code === undefined) continue;
    m.set(step, { ok: code === '0', what: `exit ${code}`, detail: msg ?? '' });
  }
  return m;
}

function curlArgs(pairs: [string, string][]): string[] {
  return pairs.flatMap(([step, url], i) => [
    ...(i > 0 ? ['--next'] : []),
    '-sS',
    '--max-time',
    '8',
    '-o',
    '/dev/null',
    '-w',
    `COMPAT\t${step}\t%{exitcode}\t%{errormsg}\n`,
    url,
  ]);
}

const SPECS: ClientSpec[] = ok
  ? [
      {
        runtime: 'curl',
        version: majorMinor(out('curl', ['--version'])),
        client: 'curl',
        api: '`curl` (one process, `--next` between transfers)',
        // No UDP step: curl's only UDP protocol, TFTP, ignores a failed sendto (7.88 logs it and waits for an answer
        // until --max-time), so the program cannot tell blocked from lost; other rows show sendto being blocked.
        steps: ['allowed', 'denied-name', 'denied-ip'],
        exitAny: true,
        cmd: 'curl',
        args: [],
        stepArgs: curlArgs,
        parse: parseCurl,
        how: 'threaded resolver → getaddrinfo; `connect`',
      },
      {
        runtime: 'shell',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not a template
        version: `dash ${majorMinor(out('dpkg-query', ['-W', '-f', '${Version}', 'dash']))}`,
        client: 'sh-c',
        api: '`sh -c` (dash) → children `getent`, `curl`, `bash`',
        steps: [...STEPS],
        cmd: 'sh',
        args: ['-c', readFileSync(join(CLIENTS, 'shell/sh-children.sh'), 'utf8'), 'sh'],
        how: 'the shell itself does no networking; every child inherits LD_PRELOAD and is guarded',
      },
      {
        runtime: 'shell',
        version: `bash ${majorMinor(out('bash', ['--version']))}`,
        client: 'bash',
        api: 'bash `/dev/tcp`, `/dev/udp`',
        steps: [...STEPS],
        cmd: 'bash',
        args: [join(CLIENTS, 'shell/bash-devtcp.sh')],
        how: 'bash itself: getaddrinfo, then `connect` (TCP and UDP)',
      },
    ]
  : [];

const name = { audit: 'logged', enforce: 'blocked' } as const;
const ip = { audit: 'logged', enforce: 'blocked', errno: 'EACCES' } as const;

const EXPECT: Record<string, ClientExpectation> = {
  curl: {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': { ...name, errno: 'EAI_NONAME', sees: 'exit 6' },
      'denied-ip': { ...ip, sees: 'exit 7' },
    },
  },
  'sh-c': {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': { ...name, sees: 'getent exit 2' },
      'denied-ip': { ...ip, sees: 'curl exit 7' },
      udp: { ...ip, sees: 'bash exit 1' },
    },
  },
  bash: {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': { ...name, errno: 'EAI_NONAME', sees: 'Name or service not known' },
      'denied-ip': { ...ip, sees: 'Permission denied' },
      udp: { ...ip, sees: 'Permission denied' },
    },
  },
};

describe.skipIf(!ok)('compat: curl and shells', () => {
  let lab: CompatLab;
  let runs: Map<string, ClientRun>;
  const facts: ResultFact[] = [];

  beforeAll(async () => {
    lab = await CompatLab.open('egcsh');
    runs = await runAll(lab, SPECS, 4);
  }, 240_000);

  afterAll(() => {
    lab?.destroy();
    if (runs?.size) {
      writeResults(
        'shell',
        SPECS.map((s) => toRow(s, runs)),
        facts.sort((a, b) => a.id.localeCompare(b.id)),
      );
    }
  });

  for (const spec of SPECS) {
    for (const mode of MODES) {
      it(`${spec.client} [${mode}]`, () => {
        assertRun(runs.get(`${spec.client}/${mode}`), EXPECT[spec.client] as ClientExpectation, mode);
      });
    }
  }

  it("sh -c: the decisions were made inside the children (their pids, not the shell's)", () => {
    const run = runs.get('sh-c/audit');
    const ctx = describeRun(run);
    const pids = new Set((run?.guard.logs ?? []).filter((l) => l.decision !== undefined).map((l) => l.pid));
    // getent, curl (allowed), curl (denied IP), bash (UDP) at least: four processes, none of them the shell.
    expect(pids.size >= 4, ctx).toBe(true);
    facts.push({
      id: 'shell-children',
      runtime: 'shell',
      title: '`sh -c` children inherit the guard',
      outcome: `the audit run's decisions were logged by ${pids.size} different child processes of the guarded shell`,
    });
  });

  it('a child started without LD_PRELOAD is guarded anyway: the exec hook writes the guard back', async () => {
    const url = `http://${DENIED_LITERAL_IP}:${HTTP_PORT}/c-no-preload`;
    const r = await lab.runArgs(
      {
        ...(SPECS[1] as ClientSpec),
        args: ['-c', 'env -u LD_PRELOAD curl -sS -o /dev/null -w "%{http_code}" "$1"', 'sh'],
      },
      'enforce',
      [url],
    );
    const ctx = JSON.stringify(r, null, 1);
    expect(r.stdout, ctx).toBe('000');
    expect(
      lab.server.events.some((e) => e.kind === 'http' && e.path === '/c-no-preload'),
      ctx,
    ).toBe(false);
    expect(logsWhere(r.logs, { event: 'uncovered' }), ctx).toEqual([]);
    const blocked = logsWhere(r.logs, { event: 'connect', blocked: true });
    expect(blocked.length, ctx).toBe(1);
    facts.push({
      id: 'shell-no-preload',
      runtime: 'shell',
      title: 'a child started without LD_PRELOAD (`env -u LD_PRELOAD curl …`), enforce mode',
      outcome:
        "the guard in `env` writes its settings back into curl's environment: curl is guarded and its connect to a " +
        "denied IP is blocked (one `connect` line, `blocked: true`, from curl's own pid)",
    });
  });
});
