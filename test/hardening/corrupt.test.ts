/**
 * Corrupted compiled policies (./corrupt.ts: truncations at every section boundary, bit flips in the header and in
 * every table, wrong version, offsets outside the file, huge counts, damage only detectable at use …), generated from
 * valid files written by the real compiler.
 *
 * 1. The C reader (the interposer's own loader, built with ASan+UBSan: native/fuzz/egpcheck.c) and the TypeScript
 *    reference reader agree on every variant: both reject it with the same stable code (contracts/errors.yaml) or
 *    both accept it, and then decide every golden query identically (bounds-checked "not found" at use, never an out-of-range read).
 * 2. A real process under the guard (native/stress/probe.c: one lookup, one connect, in a network namespace of this
 *    test) with each variant: never crashes or hangs; a rejected file in enforce mode fails CLOSED (lookup refused
 *    with EAI_NONAME, connect EACCES) with exactly one `policy` error line carrying the reader's code; in audit mode
 *    the traffic passes with exactly one `policy` line (failClosed false); an accepted file decides exactly as the
 *    reference matcher says. The ASan+UBSan build of the guard replays a selection in enforce mode (see selection()).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLICY_READER_ERRORS } from '../../policy/gen/errors.js';
import { type CompiledPolicy, compilePolicyTextSync, type FormatError, loadCompiled } from '../../policy/index.js';
import { needCommand, needNetns } from '../support/capability.js';
import { needLibrary, ROOT, scratchDir } from '../support/guard.js';
import { Netns } from '../support/netns.js';
import { corruptVariants, type Variant } from './corrupt.js';
import { BUILD, type Build, make, runUnder, SANITIZER_ERRORS } from './support.js';

const GOLDEN = join(ROOT, 'test/fixtures/golden');
const EGPQ = join(BUILD, 'egpq');
const EGPCHECK = join(BUILD, 'asan/egpcheck');
const PORT = 7421;
const GOOD_IP = '10.89.0.1';

const PROBE_POLICY = `version: 1
mode: enforce
allow:
  - name: good
    host: good.test
    ports: [${PORT}]
  - name: net
    cidr: 10.89.0.0/24
    ports: ["7000-7999"]
    proto: tcp
deny:
  - name: evil
    host: "*.evil.test"
  - name: hole
    ip: ${GOOD_IP}
    ports: [7422]
`;

interface GoldenQuery {
  q: 'name' | 'addr';
  name?: string;
  normalized?: string;
  ip?: string;
  port?: number;
  proto?: 'tcp' | 'udp';
  boundName?: string;
}

function queries(): GoldenQuery[] {
  const qs: GoldenQuery[] = [];
  for (const f of ['tiny', 'names', 'cidrs']) {
    for (const line of readFileSync(join(GOLDEN, `${f}.queries.jsonl`), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const q = JSON.parse(line) as GoldenQuery;
      if (q.q === 'name' && !q.normalized) continue; // an empty name cannot be written as an egpq query line
      qs.push(q);
    }
  }
  qs.push({ q: 'name', name: 'good.test', normalized: 'good.test', port: PORT });
  qs.push({ q: 'name', name: 'x.evil.test', normalized: 'x.evil.test' });
  for (const port of [PORT, 7422, 80]) qs.push({ q: 'addr', ip: GOOD_IP, port, proto: 'tcp', boundName: 'good.test' });
  qs.push({ q: 'addr', ip: GOOD_IP, port: PORT, proto: 'tcp' });
  return qs;
}

function egpqLine(q: GoldenQuery): string {
  const port = q.port === undefined ? '-' : String(q.port);
  const proto = q.proto ?? '-';
  if (q.q === 'name') return `name ${q.normalized ?? q.name} ${port} ${proto}`;
  return `addr ${q.ip} ${port} ${proto}${q.boundName ? ` ${q.boundName}` : ''}`;
}

function tsDecide(p: CompiledPolicy, q: GoldenQuery) {
  const d =
    q.q === 'name'
      ? p.decideName(q.normalized ?? (q.name as string), q.port, q.proto)
      : p.decideAddr(q.ip as string, q.port, q.proto, q.boundName);
  return { decision: d.decision, rule: d.rule, ruleIndex: d.ruleIndex };
}

interface Case extends Variant {
  path: string;
  /** the C reader's code, or null when it accepts the file */
  cCode: string | null;
  /** the TypeScript reader's code, or null when it accepts the file */
  tsCode: string | null;
  ts: CompiledPolicy | null;
}

let cases: Case[] = [];
const ok = needLibrary() && needCommand('make');

function buildCases(): Case[] {
  make('build/egpq', 'build/asan/egpcheck');
  const dir = join(scratchDir(), 'corrupt');
  mkdirSync(dir, { recursive: true });
  const bases: [string, Buffer][] = [
    ['tiny', readFileSync(join(GOLDEN, 'tiny.egp'))],
    ['names', readFileSync(join(GOLDEN, 'names.egp'))],
    ['probe', Buffer.from(compilePolicyTextSync(PROBE_POLICY, 'probe.yaml', { formatVersion: 1 }).bytes)],
    ['tiny.v2', readFileSync(join(GOLDEN, 'tiny.v2.egp'))],
    ['cidrs.v2', readFileSync(join(GOLDEN, 'cidrs.v2.egp'))],
    ['probe.v2', Buffer.from(compilePolicyTextSync(PROBE_POLICY, 'probe.yaml', { formatVersion: 2 }).bytes)],
    ['names.v3', readFileSync(join(GOLDEN, 'names.v3.egp'))],
    ['tiny.v3', readFileSync(join(GOLDEN, 'tiny.v3.egp'))],
    ['probe.v3', Buffer.from(compilePolicyTextSync(PROBE_POLICY, 'probe.yaml', { formatVersion: 3 }).bytes)],
  ];
  const variants: (Variant & { path: string })[] = [];
  for (const [tag, good] of bases) {
    for (const v of corruptVariants(good, tag)) {
      const path = join(dir, `v${variants.length}.egp`);
      writeFileSync(path, v.bytes);
      variants.push({ ...v, path });
    }
  }
  // the C verdicts: the interposer's loader built with ASan+UBSan, every file in one process
  const r = spawnSync(
    EGPCHECK,
    variants.map((v) => v.path),
    { encoding: 'utf8', timeout: 120_000 },
  );
  expect(r.stderr).not.toMatch(SANITIZER_ERRORS);
  expect(r.status, r.stderr).toBe(0);
  const verdicts = r.stdout.trim().split('\n');
  expect(verdicts).toHaveLength(variants.length);
  return variants.map((v, i) => {
    const verdict = verdicts[i] as string;
    let ts: CompiledPolicy | null = null;
    let tsCode: string | null = null;
    try {
      ts = loadCompiled(v.bytes);
    } catch (e) {
      expect((e as Error).name, `${v.name}: TS reader threw ${String(e)}`).toBe('FormatError');
      tsCode = (e as FormatError).code;
    }
    return { ...v, cCode: verdict === 'OK' ? null : verdict, ts, tsCode };
  });
}

describe.skipIf(!ok)('corrupted compiled policies: C reader vs reference reader', () => {
  beforeAll(() => {
    cases = buildCases();
  });

  it('the corpus is large and mixes rejected and accepted variants', () => {
    expect(cases.length).toBeGreaterThan(300);
    expect(cases.filter((c) => c.cCode === null).length).toBeGreaterThan(10);
    expect(cases.filter((c) => c.cCode !== null).length).toBeGreaterThan(250);
  });

  it('both readers accept or reject every variant alike, and reject it with the same stable code', () => {
    const disagree = cases
      .filter((c) => c.cCode !== c.tsCode)
      .map((c) => `${c.name}: C ${c.cCode ?? 'accepts'}, TS ${c.tsCode ?? 'accepts'}`);
    expect(disagree).toEqual([]);
    for (const c of cases) if (c.cCode !== null) expect(c.cCode in POLICY_READER_ERRORS, c.name).toBe(true);
  });

  it('accepted variants decide every query identically in C and in the reference matcher', () => {
    const qs = queries();
    const input = `${qs.map(egpqLine).join('\n')}\n`;
    for (const c of cases.filter((x) => x.cCode === null && x.ts !== null)) {
      const r = spawnSync(EGPQ, [c.path], { input, encoding: 'utf8', timeout: 10_000 });
      expect(r.status, `${c.name}: ${r.stderr}`).toBe(0);
      const got = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown);
      const want = qs.map((q) => tsDecide(c.ts as CompiledPolicy, q));
      expect(got, c.name).toEqual(want);
    }
  });
});

const okNs = ok && needNetns() && needCommand('clang');

describe.skipIf(!okNs)('corrupted compiled policies under a real guarded process', () => {
  let ns: Netns;
  beforeAll(() => {
    make('build/probe', 'build/asan/probe', 'build/asan/libegressguard.so');
    if (cases.length === 0) cases = buildCases();
    ns = Netns.create({ prefix: 'eghc', addresses: [`${GOOD_IP}/32`], hosts: { 'good.test': GOOD_IP } });
  });
  afterAll(() => ns?.destroy());

  async function probe(c: Case, mode: 'enforce' | 'audit', build: Build) {
    const r = await runUnder({
      ns,
      build,
      policy: c.path,
      mode,
      cmd: join(BUILD, build === 'asan' ? 'asan/probe' : 'probe'),
      args: ['good.test', GOOD_IP, String(PORT)],
      timeoutMs: 20_000,
    });
    const ctx = `${c.name} (${mode}, ${build}): status ${r.status} signal ${r.signal}\n${r.stdout}\n${r.stderr.slice(0, 3000)}\n${r.logText.slice(0, 2000)}`;
    expect(r.signal, ctx).toBeNull();
    expect(r.stderr, ctx).not.toMatch(SANITIZER_ERRORS);
    expect(r.status, ctx).toBe(0);
    expect(r.bad, ctx).toEqual([]);
    const res = JSON.parse(r.stdout.trim()) as { gai: string; connect: string };
    const policyLines = r.logs.filter((l) => l.event === 'policy');
    if (c.cCode !== null) {
      expect(policyLines, ctx).toHaveLength(1);
      expect(policyLines[0]?.error, ctx).toBe(c.cCode);
      expect(policyLines[0]?.failClosed, ctx).toBe(mode === 'enforce');
      if (mode === 'enforce') {
        expect(res, ctx).toEqual({ gai: 'EAI_NONAME', connect: 'EACCES' });
        expect(policyLines[0]?.level, ctx).toBe(50);
      } else {
        expect(res.gai, ctx).toBe('ok');
        expect(res.connect, ctx).toBe('ECONNREFUSED'); // reached the kernel: nothing listens there
      }
    } else {
      expect(policyLines, ctx).toEqual([]);
      const ts = c.ts as CompiledPolicy;
      const name = ts.decideName('good.test', PORT);
      const gaiOk = mode === 'audit' || name.decision === 'allow';
      const addr = ts.decideAddr(GOOD_IP, PORT, 'tcp', gaiOk ? 'good.test' : undefined);
      expect(res.gai, ctx).toBe(gaiOk ? 'ok' : 'EAI_NONAME');
      expect(res.connect, ctx).toBe(mode === 'audit' || addr.decision === 'allow' ? 'ECONNREFUSED' : 'EACCES');
    }
  }

  /**
   * Real processes cost far more than a reader call, so they get a selection: every variant family (names with the
   * numbers taken out) of the `probe` policy — the one whose decisions these processes exercise — and, for the ASan
   * build, every accepted `probe` variant plus one variant per C rejection code of every base.
   */
  function selection(build: Build): Case[] {
    const seen = new Set<string>();
    const pick: Case[] = [];
    for (const c of cases) {
      const probeBase = c.name.startsWith('probe/');
      const key =
        build === 'asan'
          ? c.cCode === null
            ? probeBase
              ? c.name
              : ''
            : `${c.name.split('/')[0]}:${c.cCode}`
          : probeBase
            ? c.name.replace(/\d+/g, '#')
            : '';
      if (key === '' || seen.has(key)) continue;
      seen.add(key);
      pick.push(c);
    }
    return pick;
  }

  async function all(mode: 'enforce' | 'audit', build: Build) {
    const queue = selection(build);
    expect(queue.length).toBeGreaterThan(build === 'asan' ? 20 : 100);
    const workers = Array.from({ length: 4 }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) await probe(c, mode, build);
    });
    await Promise.all(workers);
  }

  it('enforce: rejected files fail closed with one error line; accepted ones decide as the reference', async () => {
    await all('enforce', 'plain');
  }, 600_000);

  it('audit: rejected files fail open with one error line; accepted ones decide as the reference', async () => {
    await all('audit', 'plain');
  }, 600_000);

  it('the ASan+UBSan guard replays the accepted variants and every rejection code in enforce mode without a report', async () => {
    await all('enforce', 'asan');
  }, 600_000);
});
