// A compromised Node dependency trying to start a child the guard does not hold (test/adversarial/children.test.ts).
//
// usage: node children.mjs ATTACK...   (each attack starts victim.py with tag "node-<attack>")
// Ordinary, unprivileged Node: environments handed to child_process, a mutated process.env, the shell. After each
// attack the attacker sends `GET /sentinel-<tag>` to the allowed server (see children.py).
import { execFileSync, execSync, spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';

const ARENA = process.env.ARENA;
const PY = '/usr/bin/python3';
const VICTIM = join(ARENA, 'programs', 'victim.py');
const DECOY = join(ARENA, 'decoy', 'libegressguard.so');
const PERMISSIVE = join(ARENA, 'permissive.egp');
const argv = (tag) => [VICTIM, tag, '10.88.0.2', '8080'];
const line = (tag) => [PY, ...argv(tag)].join(' ');
const withEnv = (changes) => ({ ...process.env, ...changes });
const show = (out) => process.stdout.write(out);

const ATTACKS = {
  'env-mode-off': (t) => show(execFileSync(PY, argv(t), { env: withEnv({ EGRESS_GUARD_MODE: 'off' }) })),
  'env-empty': (t) => show(execFileSync(PY, argv(t), { env: {} })),
  'env-preload-empty': (t) => show(execFileSync(PY, argv(t), { env: withEnv({ LD_PRELOAD: '' }) })),
  'env-decoy': (t) => show(execFileSync(PY, argv(t), { env: withEnv({ LD_PRELOAD: DECOY }) })),
  'env-permissive-policy': (t) =>
    show(execFileSync(PY, argv(t), { env: withEnv({ EGRESS_GUARD_POLICY: PERMISSIVE }) })),
  'env-log-off': (t) =>
    show(execFileSync(PY, argv(t), { env: withEnv({ EGRESS_GUARD_LOG: 'off', EGRESS_GUARD_LOG_LEVEL: 'off' }) })),
  'exec-shell': (t) => show(execSync(line(t), { env: withEnv({ EGRESS_GUARD_MODE: 'off', LD_PRELOAD: '' }) })),
  'process-env': (t) => {
    process.env.EGRESS_GUARD_MODE = 'off';
    process.env.LD_PRELOAD = '';
    show(execSync(line(t)));
  },
  'spawn-sync-shell': (t) =>
    show(spawnSync(line(t), { shell: true, env: withEnv({ EGRESS_GUARD_MODE: 'off' }) }).stdout),
  'spawn-detached-ignore': (t) =>
    new Promise((resolve) => {
      const c = spawn(PY, argv(t), {
        env: withEnv({ EGRESS_GUARD_MODE: 'off' }),
        detached: true,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      c.stdout.on('data', show);
      c.on('close', resolve);
    }),
};

function sentinel(tag) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '10.88.0.1', port: 8080, path: `/sentinel-${tag}` }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
}

for (const name of process.argv.slice(2)) {
  const tag = `node-${name}`;
  const saved = { ...process.env };
  try {
    await ATTACKS[name](tag);
  } catch (e) {
    show(`${JSON.stringify({ attack: name, error: String(e) })}\n`);
  } finally {
    for (const k of Object.keys(process.env)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  await sentinel(tag);
}
