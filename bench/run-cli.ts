/**
 * What `egress-guard run` adds before (and after) the command: `egress-guard run -- /bin/true` against `/bin/true`.
 *
 *   npm run bench:run-cli [-- --rounds N] [-- --policy FILE] [-- --json]
 * (= npm run build, then node dist/bench/run-cli.js). Cases, each timed against a plain `/bin/true` run in the same
 * round (the order rotating round by round, so drift in machine speed hits both):
 *   warm   a YAML policy whose compiled form is in the cache (the normal case: the policy did not change)
 *   launcher  the same through the package's `egress-guard-run` bin (bin/egress-guard-run, which execs the native
 *          launcher native/build/egress-guard-run) with its launch record in place: the command is exec'd without
 *          starting Node.js (the bench checks the record is there first)
 *   cold   the same policy with an empty cache directory (compile + store)
 *   egp    a compiled `.egp` given directly (no compiler, no cache)
 *   node   `node -e 0`: what the Node.js runtime alone costs to start, for reference
 * Figures: per case the median, min and max over rounds of (case − plain) in wall ms and in CPU ms (user + system
 * of the process and the children it waited for, from wait4: not inflated when other work preempts it on a shared
 * machine), each run timed by bench/native/spawntime.c `--once`. Default policy: examples/policy.yaml (a names file
 * among its rules). No network: `/bin/true` connects nowhere.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchDirFor, launchKey } from '../policy/cli/launch-record.js';
import { LAUNCH_SUFFIX } from '../policy/gen/launch.js';
import { type Spread, spread } from './stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, here.endsWith(join('dist', 'bench')) ? '../..' : '..');
const args = process.argv.slice(2);
const opt = (f: string) => {
  const i = args.indexOf(f);
  return i >= 0 ? args[i + 1] : undefined;
};
const rounds = Number(opt('--rounds') ?? 15);
const policy = resolve(opt('--policy') ?? join(root, 'examples/policy.yaml'));
const CLI = join(root, 'dist/policy/bin.js');
const LAUNCHER = join(root, 'bin/egress-guard-run'); // the bin users call: sh, then the native launcher
const work = mkdtempSync(join(tmpdir(), 'eg-bench-run-'));

const spawntime = join(work, 'spawntime');
execFileSync('cc', [
  '-std=c11',
  '-O2',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-o',
  spawntime,
  join(root, 'bench/native/spawntime.c'),
]);

interface Timing {
  wall: number;
  cpu: number;
}

/** Wall and CPU milliseconds of one run of argv (its stdout discarded); throws when it fails. */
function timed(argv: string[], env: NodeJS.ProcessEnv = process.env): Timing {
  const r = spawnSync(spawntime, ['--once', '--', ...argv], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const last = r.stderr.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || !last.startsWith('{')) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  const t = JSON.parse(last) as { wallUs: number; cpuUs: number };
  return { wall: t.wallUs / 1000, cpu: t.cpuUs / 1000 };
}

const runUnder = (policyFile: string, cacheHome: string) =>
  timed([process.execPath, CLI, 'run', '--policy', policyFile, '--', '/bin/true'], {
    ...process.env,
    XDG_CACHE_HOME: cacheHome,
  });

const warmHome = join(work, 'warm');
const egp = join(work, 'policy.egp');
timed([process.execPath, CLI, 'compile', policy, '-o', egp, '-q']);
runUnder(policy, warmHome); // fills the warm cache (and the page cache), and writes the launch record
const launcherArgs = ['--policy', policy, '--', '/bin/true'];
const launcherEnv = { ...process.env, XDG_CACHE_HOME: warmHome };
const record = join(
  launchDirFor(launcherEnv),
  `${launchKey(process.cwd(), launcherArgs.slice(0, 2), '/bin/true', launcherEnv)}${LAUNCH_SUFFIX}`,
);
if (!existsSync(record))
  throw new Error(`the warm run wrote no launch record (${record}): the launcher arm would time Node.js`);

let coldN = 0;
const cases: Record<string, () => Timing> = {
  warm: () => runUnder(policy, warmHome),
  launcher: () => timed([LAUNCHER, ...launcherArgs], launcherEnv),
  cold: () => runUnder(policy, join(work, `cold-${coldN++}`)),
  egp: () => runUnder(egp, warmHome),
  node: () => timed([process.execPath, '-e', '0']),
};
const added: Record<string, { wall: number[]; cpu: number[] }> = Object.fromEntries(
  Object.keys(cases).map((k) => [k, { wall: [], cpu: [] }]),
);
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of Object.entries(cases)) {
    let plain: Timing;
    let t: Timing;
    if (r % 2 === 0) {
      plain = timed(['/bin/true']);
      t = run();
    } else {
      t = run();
      plain = timed(['/bin/true']);
    }
    added[name]?.wall.push(t.wall - plain.wall);
    added[name]?.cpu.push(t.cpu - plain.cpu);
  }
}
rmSync(work, { recursive: true, force: true });

const result: Record<string, { wallMs: Spread; cpuMs: Spread }> = Object.fromEntries(
  Object.entries(added).map(([k, v]) => [k, { wallMs: spread(v.wall), cpuMs: spread(v.cpu) }]),
);
const fmt = (s: Spread) => `${s.median.toFixed(1)} ms (min ${s.min.toFixed(1)}, max ${s.max.toFixed(1)})`;
if (args.includes('--json')) process.stdout.write(`${JSON.stringify({ policy, rounds, added: result })}\n`);
else {
  process.stdout.write(`egress-guard run -- /bin/true vs /bin/true, ${rounds} interleaved rounds, ${policy}\n`);
  for (const [k, s] of Object.entries(result)) {
    process.stdout.write(`  ${k.padEnd(8)} adds wall ${fmt(s.wallMs)}, CPU ${fmt(s.cpuMs)}\n`);
  }
}
