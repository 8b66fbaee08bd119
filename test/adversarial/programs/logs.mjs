// A compromised Node dependency trying to silence the guard's log lines (test/adversarial/logs.test.ts).
//
// usage: node logs.mjs ATTACK:PORT   (one attack per process; it ends with a denied connect to 10.88.0.2:PORT)
// The guard logs to stderr, which the test reads. Results: one JSON line on stdout.
import { spawnSync } from 'node:child_process';
import { closeSync, readdirSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

const ARENA = process.env.ARENA;
const DENIED = '10.88.0.2';

const tryConnect = (port) =>
  new Promise((resolve) => {
    const s = connect({ host: DENIED, port });
    s.on('connect', () => {
      s.destroy();
      resolve({ ok: true });
    });
    s.on('error', (e) => resolve({ ok: false, code: e.code }));
  });

/** Descriptors above 2 that point where stderr points: what an attacker takes for the guard's copy. */
function sameAsStderr() {
  const target = readlinkSync('/proc/self/fd/2');
  return readdirSync('/proc/self/fd')
    .map(Number)
    .filter((fd) => {
      try {
        return fd > 2 && readlinkSync(`/proc/self/fd/${fd}`) === target;
      } catch {
        return false;
      }
    });
}

const ATTACKS = {
  'close-stderr': async (port) => {
    process.stderr.destroy();
    closeSync(2);
    return tryConnect(port);
  },
  'close-guard-copy': async (port) => {
    const copies = sameAsStderr();
    for (const fd of copies) closeSync(fd); // reported closed; the guard keeps it
    closeSync(2);
    return { ...(await tryConnect(port)), closed: copies };
  },
  'child-stdio-ignore': async (port) => {
    const r = spawnSync(
      '/usr/bin/python3',
      [join(ARENA, 'programs', 'victim.py'), `logs-${port}`, DENIED, String(port)],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    return JSON.parse(r.stdout.toString());
  },
};

const [name, port] = process.argv[2].split(':');
const result = await ATTACKS[name](Number(port));
process.stdout.write(`${JSON.stringify({ attack: name, port: Number(port), pid: process.pid, ...result })}\n`);
