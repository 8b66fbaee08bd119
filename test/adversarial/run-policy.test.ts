// `egress-guard run` (policy/cli/run.ts): the command it guards must not be able to replace the policy its children
// load. The command (test/adversarial/programs/run_replace.py, plain Python) rewrites the file EGRESS_GUARD_POLICY
// names in place — same inode, so a child's identity check of the file (EGRESS_GUARD_POLICY_ID) passes — with a
// permissive policy it brought along, then starts a child that requests a denied server. The server is the witness.
// The guard of the first process loads a policy file it could rewrite from a sealed copy and hands that to children
// (native/src/init.c, docs/INTERPOSER.md "Children keep the guard").
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicyTextSync } from '../../policy/index.js';
import { BIN, type GuardLog, logsWhere, needBin } from '../support/guard.js';
import { runChild } from '../support/netns.js';
import { ALLOWED, Arena, DENIED, explainRun, needAttacker, PORT, PY } from './attacker.js';

const POLICY = `version: 1
mode: enforce
allow:
  - name: allowed-server
    cidr: ${ALLOWED}/32
    ports: [${PORT}]
`;

describe.skipIf(!(needAttacker() && needBin()))(
  'egress-guard run: the command cannot replace its children’s policy',
  () => {
    let arena: Arena;
    beforeAll(async () => {
      arena = await Arena.create('egrunp');
    });
    afterAll(() => arena?.destroy());

    /** run's compiled-policy cache for these runs (policy/cli/run-cache.ts), never the user's own. */
    const cache = () => join(arena.dir, 'xdg-cache');

    async function run(policy: string) {
      const log = join(arena.dir, 'logs', 'run.log');
      writeFileSync(log, '');
      const child = arena.ns.spawn(
        process.execPath,
        [
          BIN,
          'run',
          '--policy',
          policy,
          '--log',
          log,
          '--',
          PY,
          arena.program('run_replace.py'),
          arena.permissive,
          DENIED,
          ALLOWED,
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', XDG_CACHE_HOME: cache() },
        },
      );
      const r = await runChild(child, undefined, 60_000);
      expect(await arena.settled('run'), `${r.stdout}\n${r.stderr}`).toBe(true);
      return r;
    }

    // Passing = the rewrite itself may succeed (the file is the command's), but the child loads the sealed copy the
    // first process loaded: its request never arrives and its own guard line says what was blocked.
    it.each(['a YAML policy (compiled by run into its cache)', 'a compiled .egp of the user'])(
      '%s rewritten in place: the child is still guarded by what the first process loaded',
      async (kind) => {
        const policy = join(arena.dir, kind.startsWith('a YAML') ? 'run-policy.yaml' : 'run-policy.egp');
        if (kind.startsWith('a YAML')) writeFileSync(policy, POLICY);
        else writeFileSync(policy, compilePolicyTextSync(POLICY, 'run-policy.yaml').bytes);
        const r = await run(policy);
        const explain = `${r.stdout}\n${r.stderr}\n${readFileSync(join(arena.dir, 'logs', 'run.log'), 'utf8')}`;
        expect(r.stdout, explain).toContain('"rewritten": true');
        expect(r.stdout, explain).toContain('"outcome": "Operation not permitted"'); // the sealed copy
        expect(r.stdout, explain).not.toContain('"outcome": "written"');
        expect(r.stdout, explain).toContain('"reached": false');
        expect(arena.sawRequest('/run-replaced'), explain).toBe(false);
        const logs = readFileSync(join(arena.dir, 'logs', 'run.log'), 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as GuardLog);
        expect(
          logsWhere(logs, { event: 'connect', ip: DENIED, port: PORT, blocked: true, rule: 'default' }),
        ).toHaveLength(1);
        expect(logsWhere(logs, { event: 'policy' }), explain).toEqual([]);
        if (kind.startsWith('a YAML')) {
          // the rewritten cache entry is not trusted by the next run: its digest no longer matches, it is rebuilt
          const next = spawnSync(
            process.execPath,
            [BIN, 'run', '--policy', policy, '--', '/bin/sh', '-c', 'printf %s "$EGRESS_GUARD_POLICY"'],
            { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', XDG_CACHE_HOME: cache() } },
          );
          expect(next.status, next.stderr).toBe(0);
          expect(next.stdout.startsWith(join(cache(), 'egress-guard', 'policies'))).toBe(true);
          expect(readFileSync(next.stdout).equals(compilePolicyTextSync(POLICY, policy).bytes)).toBe(true);
        }
      },
    );

    // The same attack by an unprivileged user on a policy file of its own that it made read-only: it cannot write it
    // now, but it owns it, so it can chmod it back and rewrite it (root, which runs the cases above, can write any
    // file, so only an unprivileged owner exercises this). The guard must take the sealed copy here too.
    it('a read-only policy file the user owns, rewritten in place after a chmod: the child is still guarded', async () => {
      const policy = join(arena.dir, 'own-readonly.egp');
      writeFileSync(policy, compilePolicyTextSync(POLICY, 'own-readonly.yaml').bytes);
      chownSync(policy, 65534, 65534);
      chmodSync(policy, 0o444);
      const r = await arena.run({
        cmd: PY,
        args: [arena.program('run_replace.py'), arena.permissive, DENIED, ALLOWED],
        env: { EGRESS_GUARD_POLICY: policy, EGRESS_GUARD_MODE: 'enforce' },
      });
      expect(await arena.settled('run'), explainRun(r)).toBe(true);
      expect(r.stdout, explainRun(r)).toContain('"rewritten": true'); // the file is the user's: chmod, then write
      expect(r.stdout, explainRun(r)).toContain('"reached": false');
      expect(arena.sawRequest('/run-replaced'), explainRun(r)).toBe(false);
      expect(
        r.logs.filter((l) => l.event === 'connect' && l.ip === DENIED && l.blocked === true && l.rule === 'default'),
        explainRun(r),
      ).toHaveLength(1);
    });

    // A policy over 1 MiB (a threat feed) is not copied (the copy would cost every first start its size again): the
    // first process hands its children the file's identity with its size and change time, so an in-place rewrite —
    // which no one but root can hide from the change time — makes the child fail closed, as for a replaced policy.
    it('a policy over 1 MiB rewritten in place: the child fails closed (E_POLICY_REPLACED)', async () => {
      const feed = Array.from({ length: 40_000 }, (_, i) => `  - host: feed-${i}.blocked.example`).join('\n');
      const bytes = compilePolicyTextSync(`${POLICY}deny:\n${feed}\n`, 'big.yaml').bytes;
      expect(bytes.length).toBeGreaterThan(1 << 20);
      const policy = join(arena.dir, 'big.egp');
      writeFileSync(policy, bytes);
      chownSync(policy, 65534, 65534);
      const r = await arena.run({
        cmd: PY,
        args: [arena.program('run_replace.py'), arena.permissive, DENIED, ALLOWED],
        env: { EGRESS_GUARD_POLICY: policy, EGRESS_GUARD_MODE: 'enforce' },
      });
      expect(await arena.settled('run'), explainRun(r)).toBe(true);
      expect(r.stdout, explainRun(r)).toContain('"rewritten": true');
      expect(r.stdout, explainRun(r)).toContain('"reached": false');
      expect(arena.sawRequest('/run-replaced'), explainRun(r)).toBe(false);
      expect(
        r.logs.filter((l) => l.event === 'policy' && l.error === 'E_POLICY_REPLACED'),
        explainRun(r),
      ).not.toHaveLength(0);
      expect(
        r.logs.filter(
          (l) => l.event === 'connect' && l.ip === DENIED && l.blocked === true && l.rule === 'policy-error',
        ),
        explainRun(r),
      ).toHaveLength(1);
    });
  },
);
