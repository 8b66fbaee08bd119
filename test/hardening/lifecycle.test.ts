/**
 * A guarded process outlives changes to its policy file, and forks while other threads are inside the hooks.
 *
 * Policy file lifecycle (documented in SECURITY.md "Policy file changes"): the guard reads the policy once, at
 * initialisation. A running process keeps deciding with what it read — files up to 1 MiB are copied into private
 * memory, larger ones stay mapped MAP_PRIVATE — whether the file is then deleted, atomically replaced (what
 * `egress-guard compile` does) or truncated in place; only new processes see the new file.
 *
 * fork(): Python multiprocessing (fork start method: a Pool and single Processes) and Node child_process, while 8
 * threads (Python) / the libuv thread pool (Node) are inside getaddrinfo/connect hooks: no deadlock, and every child
 * is still guarded (its denied connect gets EACCES, its allowed one reaches the kernel).
 */
import { copyFileSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicyFile } from '../../policy/index.js';
import { needCommand, needNetns } from '../support/capability.js';
import { needLibrary, ROOT, scratchDir } from '../support/guard.js';
import { Netns } from '../support/netns.js';
import { cleanEnv, guardEnv, logPath, parseLog } from './support.js';

const ok = needNetns() && needLibrary() && needCommand('python3');
const PORT = 7441;
const GOOD = '10.91.0.1';
const DENIED = '10.91.0.2';
const AGENT = join(ROOT, 'test/hardening/programs/agent.py');

const ALLOW_GOOD = `version: 1\nmode: enforce\nallow:\n  - name: good\n    host: good.test\n  - name: goodnet\n    ip: ${GOOD}\n`;
const DENY_ALL = `version: 1\nmode: enforce\nallow:\n  - name: other\n    host: other.test\n`;

type Result = { gai?: string; connect: string };
const ALLOWED: Result = { gai: 'ok', connect: 'ECONNREFUSED' }; // reached the kernel: nothing listens there
const BLOCKED: Result = { gai: 'EAI_NONAME', connect: 'EACCES' };

/** A long-running guarded Python agent answering probe commands. */
class Agent {
  private readonly lines: AsyncIterableIterator<string>;
  readonly child;
  constructor(ns: Netns, policy: string, log: string) {
    const argv = [...guardEnv({ policy, log }), 'python3', AGENT, 'serve'];
    this.child = ns.spawn('env', argv, { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }
  async probe(host: string, ip: string): Promise<Result> {
    this.child.stdin!.write(`${JSON.stringify({ host, ip, port: PORT })}\n`);
    const next = await this.lines.next();
    if (next.done) throw new Error('agent exited');
    return JSON.parse(next.value) as Result;
  }
  async stop(): Promise<number | null> {
    this.child.stdin!.end();
    return new Promise((res) => this.child.on('close', (code) => res(code)));
  }
}

describe.skipIf(!ok)('policy file changes under running processes', () => {
  let ns: Netns;
  const dir = join(scratchDir(), 'lifecycle');
  let allowGood: string;
  let denyAll: string;
  let bigAllowGood: string;
  beforeAll(async () => {
    ns = Netns.create({ prefix: 'eghp', addresses: [`${GOOD}/32`, `${DENIED}/32`], hosts: { 'good.test': GOOD } });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.yaml'), ALLOW_GOOD);
    writeFileSync(join(dir, 'b.yaml'), DENY_ALL);
    // > 1 MiB: mapped from the file instead of copied (docs/FORMAT.md "How a reader validates", check 4)
    const names = Array.from({ length: 45_000 }, (_, i) => `host-${i}.bulk.test`).join('\n');
    writeFileSync(join(dir, 'bulk.txt'), names);
    writeFileSync(join(dir, 'big.yaml'), `${ALLOW_GOOD}  - name: bulk\n    hosts_file: bulk.txt\n`);
    allowGood = join(dir, 'a.egp');
    denyAll = join(dir, 'b.egp');
    bigAllowGood = join(dir, 'big.egp');
    await compilePolicyFile(join(dir, 'a.yaml'), allowGood);
    await compilePolicyFile(join(dir, 'b.yaml'), denyAll);
    const big = await compilePolicyFile(join(dir, 'big.yaml'), bigAllowGood);
    expect(big.bytes.length).toBeGreaterThan(1024 * 1024);
  });
  afterAll(() => ns?.destroy());

  async function scenario(source: string, change: (path: string) => void) {
    const path = join(dir, `live-${Math.random().toString(36).slice(2)}.egp`);
    copyFileSync(source, path);
    const log = logPath('life');
    const a = new Agent(ns, path, log);
    try {
      expect(await a.probe('good.test', GOOD)).toEqual(ALLOWED);
      expect((await a.probe('', DENIED)).connect).toBe('EACCES');
      change(path);
      // the running process decides exactly as before
      expect(await a.probe('good.test', GOOD)).toEqual(ALLOWED);
      expect(await a.probe('host-44999.bulk.test', GOOD)).toMatchObject({ connect: 'ECONNREFUSED' });
      expect((await a.probe('', DENIED)).connect).toBe('EACCES');
    } finally {
      expect(await a.stop()).toBe(0);
    }
    const { logs, bad } = parseLog(readFileSync(log, 'utf8'));
    expect(bad).toEqual([]);
    expect(logs.filter((l) => l.event === 'policy')).toEqual([]);
    return path;
  }

  for (const [what, source] of [
    ['a small policy (copied into memory)', () => allowGood],
    ['a policy over 1 MiB (mapped)', () => bigAllowGood],
  ] as const) {
    it(`${what}: deleted while running — the process keeps its policy`, async () => {
      await scenario(source(), (p) => rmSync(p));
    });
    it(`${what}: atomically replaced — the running process keeps the old one, a new process gets the new one`, async () => {
      const path = await scenario(source(), (p) => {
        copyFileSync(denyAll, `${p}.tmp`);
        renameSync(`${p}.tmp`, p);
      });
      const b = new Agent(ns, path, logPath('life-new'));
      expect(await b.probe('good.test', GOOD)).toEqual(BLOCKED);
      expect(await b.stop()).toBe(0);
    });
  }

  it('a small policy truncated and rewritten in place while running: no effect on the running process', async () => {
    await scenario(allowGood, (p) => {
      truncateSync(p, 0);
      writeFileSync(p, 'garbage');
    });
  });
});

describe.skipIf(!ok)('fork while other threads are inside the hooks', () => {
  let ns: Netns;
  let policy: string;
  beforeAll(async () => {
    ns = Netns.create({ prefix: 'eghk', addresses: [`${GOOD}/32`, `${DENIED}/32`], hosts: { 'good.test': GOOD } });
    const yaml = join(scratchDir(), 'fork.yaml');
    writeFileSync(yaml, ALLOW_GOOD);
    policy = join(scratchDir(), 'fork.egp');
    await compilePolicyFile(yaml, policy);
  });
  afterAll(() => ns?.destroy());

  it('Python multiprocessing (fork): no deadlock, every child guarded', async () => {
    const log = logPath('pyfork');
    const child = ns.spawn(
      'env',
      [...guardEnv({ policy, log }), 'python3', AGENT, 'fork', 'good.test', GOOD, String(PORT), DENIED, '24'],
      {
        env: cleanEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const { runChild } = await import('../support/netns.js');
    const r = await runChild(child, undefined, 120_000);
    expect(r.signal, r.stderr).toBeNull(); // not killed by the timeout: no deadlock
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout.trim()) as { children: unknown[]; loops: number; badLoops: number };
    expect(s.children).toHaveLength(48);
    for (const c of s.children) expect(c).toEqual(['ECONNREFUSED', 'EACCES']);
    expect(s.badLoops).toBe(0);
    expect(s.loops).toBeGreaterThan(0);
    const { logs, bad } = parseLog(readFileSync(log, 'utf8'));
    expect(bad).toEqual([]);
    // the children logged their own blocked connects (own pids)
    const blockedPids = new Set(logs.filter((l) => l.blocked === true && l.ip === DENIED).map((l) => l.pid));
    expect(blockedPids.size).toBeGreaterThanOrEqual(24);
  }, 180_000);

  it('Node child_process while the libuv pool resolves: no deadlock, children guarded', async () => {
    const script = `
      const dns = require('node:dns'); const net = require('node:net'); const cp = require('node:child_process');
      let stop = false, loops = 0, bad = 0;
      const spin = () => { if (stop) return; dns.lookup('good.test', (e, a) => { loops++; if (e || a !== '${GOOD}') bad++;
        const s = net.connect(${PORT}, '${GOOD}'); s.on('error', (err) => { if (err.code !== 'ECONNREFUSED') bad++; spin(); }); }); };
      for (let i = 0; i < 8; i++) spin();
      const child = "const net=require('node:net');const s=net.connect(${PORT},'${DENIED}');s.on('error',e=>{process.stdout.write(e.code);});";
      const kids = [];
      for (let i = 0; i < 12; i++) kids.push(new Promise((res) => cp.execFile(process.execPath, ['-e', child], { timeout: 20000 }, (e, out) => res(e ? 'fail:' + e.message : out))));
      kids.push(new Promise((res) => cp.exec('sh -c "exec ' + process.execPath + ' -e \\\\"' + child.replace(/"/g, '\\\\\\\\\\\\"') + '\\\\""', { timeout: 20000 }, (e, out) => res(e ? 'fail:' + e.message : out))));
      Promise.all(kids).then((r) => { stop = true; console.log(JSON.stringify({ kids: r, loops, bad })); });
    `;
    const log = logPath('nodefork');
    const child = ns.spawn('env', [...guardEnv({ policy, log }), process.execPath, '-e', script], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { runChild } = await import('../support/netns.js');
    const r = await runChild(child, undefined, 120_000);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout.trim()) as { kids: string[]; loops: number; bad: number };
    expect(s.kids).toEqual(Array(13).fill('EACCES'));
    expect(s.bad).toBe(0);
    expect(s.loops).toBeGreaterThan(0);
    const { bad } = parseLog(readFileSync(log, 'utf8'));
    expect(bad).toEqual([]);
  }, 180_000);
});
