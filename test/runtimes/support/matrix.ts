/**
 * The runtime matrix: one real runtime interface client under the real Lambda Runtime Interface Emulator, guarded
 * the way it is deployed, metered by the real agent — and the same three invokes and checks for every runtime.
 *
 * The network is the metering tests' (test/metering/world.ts): the function's namespace `fn` (the emulator, the
 * runtime, the agent, the proxy) joined by a veth pair to `server` (an HTTP server serving `/bytes/N`), so every
 * byte crosses a non-loopback interface and shows in the function's /proc/net/dev, the agent's source of truth.
 * /opt is the layer as staged by the layer build (`stageLayer`), bind-mounted in a private mount namespace.
 *
 * The handler contract (every runtime's function implements it): event `{"urls": [...], "probe": [...]}` → GET every
 * `urls` entry (an error fails the invoke), GET every `probe` entry ignoring errors, answer `{"bytes": N}` (the sum of
 * the `urls` bodies).
 *
 * The sequence (`runSequence`), policy test/fixtures/runtimes/policy.yaml (enforce, rxBytes budget 1 MiB):
 *   1. 256 KiB download + a probe of a denied address → ok;
 *   2. 3 MiB download → the budget trips: the invoke fails with EgressBudgetExceeded;
 *   3. 64 KiB download + a denied probe → ok, and its bytes are its own (no bleed from 2).
 * `checkSequence` asserts, per invoke: the request id on the blocked probe's guard line, exactly one `invoke` line and
 * one EMF line carrying that id, rxBytes within the download bound of what the server sent (world.ts
 * `expectDownload`), the budget line and the failure of invoke 2, and invoke 3 clean.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { stageLayer } from '../../../layer/build/build-layer.js';
import type { LayerArch } from '../../../layer/build/contents.js';
import { createWorld, expectDownload, KiB, MiB, type World } from '../../metering/world.js';
import { compilePolicy, type GuardLog, ROOT, scratchDir } from '../../support/guard.js';
import type { MeteringChecks } from './results.js';
import { type Invocation, Rie } from './rie.js';

export const DENIED_PROBE = 'http://10.201.0.9:8080/probe';
export const LIB = '/opt/egress-guard/lib/libegressguard.so';

export interface Deployment {
  /** the runtime command line as Lambda (or the container image's entrypoint) would start it */
  bootstrap: string[];
  /** files to put in the task directory (name → source path, or contents) */
  task?: Record<string, { from: string } | { text: string; mode?: number }>;
  /** the function's environment (beyond the guard's, which the lab sets) */
  env?: Record<string, string>;
  /** proxy mode: the proxy-mode layer's extension is added to /opt */
  proxyExtension?: boolean;
  /** which architecture's layer is staged in /opt (default x86_64) */
  arch?: LayerArch;
}

export interface MatrixLab {
  world: World;
  rie: Rie;
  task: string;
  logFile: string;
  destroy(): void;
}

export async function openMatrix(prefix: string, d: Deployment): Promise<MatrixLab> {
  const world = await createWorld(prefix);
  try {
    const dir = mkdtempSync(join(scratchDir(), 'matrix-'));
    const opt = join(dir, 'opt');
    mkdirSync(opt);
    stageLayer(d.arch ?? 'x86_64', opt);
    if (d.proxyExtension) {
      mkdirSync(join(opt, 'extensions'));
      copyFileSync(join(ROOT, 'layer/extensions/egress-guard-proxy'), join(opt, 'extensions/egress-guard-proxy'));
      chmodSync(join(opt, 'extensions/egress-guard-proxy'), 0o755);
    }
    const task = join(dir, 'task');
    mkdirSync(task);
    for (const [name, src] of Object.entries(d.task ?? {})) {
      const to = join(task, name);
      mkdirSync(join(to, '..'), { recursive: true });
      if ('from' in src) copyFileSync(src.from, to);
      else writeFileSync(to, src.text);
      chmodSync(to, 'from' in src ? 0o755 : (src.mode ?? 0o644));
    }
    const logFile = join(dir, 'guard.log');
    const policy = await compilePolicy('test/fixtures/runtimes/policy.yaml');
    const rie = await Rie.start(world.fn, {
      bootstrap: d.bootstrap.map((a) => a.replaceAll('$TASK', task)),
      opt,
      cwd: task,
      env: {
        LAMBDA_TASK_ROOT: task,
        AWS_LAMBDA_FUNCTION_NAME: `matrix-${prefix}`,
        AWS_LAMBDA_FUNCTION_TIMEOUT: '30',
        EGRESS_GUARD_POLICY: policy,
        EGRESS_GUARD_LOG: logFile,
        // Lambda's /tmp is private to the environment; here /tmp is the machine's, so the state file is the lab's own
        EGRESS_GUARD_STATE: join(dir, 'state'),
        HOME: task,
        ...Object.fromEntries(Object.entries(d.env ?? {}).map(([k, v]) => [k, v.replaceAll('$TASK', task)])),
      },
    });
    return {
      world,
      rie,
      task,
      logFile,
      destroy() {
        rie.stop();
        world.destroy();
      },
    };
  } catch (e) {
    world.destroy();
    throw e;
  }
}

export function guardLines(lab: MatrixLab): GuardLog[] {
  if (!existsSync(lab.logFile)) return [];
  return readFileSync(lab.logFile, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as GuardLog);
}

/** EMF lines the agent wrote to stdout (the emulator prints the runtime's output). */
export function emfLines(lab: MatrixLab): Record<string, unknown>[] {
  return lab.rie.output
    .split('\n')
    .map((l) => l.slice(l.indexOf('{')))
    .filter((l) => l.startsWith('{"_aws"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export interface Sequence {
  invokes: Invocation[];
  sizes: number[];
}

export async function runSequence(lab: MatrixLab): Promise<Sequence> {
  const base = lab.world.http;
  const sizes = [256 * KiB, 3 * MiB, 64 * KiB];
  const events = [
    { urls: [`${base}/bytes/${sizes[0]}`], probe: [DENIED_PROBE] },
    { urls: [`${base}/bytes/${sizes[1]}`], probe: [] },
    { urls: [`${base}/bytes/${sizes[2]}`], probe: [DENIED_PROBE] },
  ];
  const invokes: Invocation[] = [];
  for (const ev of events) invokes.push(await lab.rie.invoke(ev));
  // the agent writes the invoke line when the runtime's result (or the handler's late one) is in: wait for all three
  for (let i = 0; i < 200 && guardLines(lab).filter((l) => l.event === 'invoke').length < 3; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  return { invokes, sizes };
}

export function checkSequence(lab: MatrixLab, seq: Sequence, ctx: string): void {
  const lines = guardLines(lab);
  const all = `${ctx}\n--- guard lines\n${lines.map((l) => JSON.stringify(l)).join('\n')}\n--- emulator output\n${lab.rie.output}`;
  const [one, two, three] = seq.invokes as [Invocation, Invocation, Invocation];
  expect(one.status, all).toBe(200);
  expect(JSON.parse(one.body), all).toMatchObject({ bytes: seq.sizes[0] });
  expect(three.status, all).toBe(200);
  expect(JSON.parse(three.body), all).toMatchObject({ bytes: seq.sizes[2] });
  const ids = seq.invokes.map((i) => i.requestId);
  expect(new Set(ids).size, all).toBe(3);
  for (const id of ids) expect(id, all).toMatch(/^[0-9a-f-]{36}$/);

  const invokeLines = lines.filter((l) => l.event === 'invoke');
  expect(
    invokeLines.map((l) => l.requestId),
    all,
  ).toEqual(ids);
  const emf = emfLines(lab);
  expect(
    emf.map((e) => e.requestId),
    all,
  ).toEqual(ids);

  // 1: metered, the blocked probe's line carries the request id
  const [i1, i2, i3] = invokeLines as [GuardLog, GuardLog, GuardLog];
  expectDownload(Number(i1.rxBytes), Number(i1.txBytes), seq.sizes[0] as number);
  expect(emf[0]?.RxBytes, all).toBe(i1.rxBytes);
  const probes = lines.filter((l) => l.event === 'connect' && l.blocked === true && l.ip === '10.201.0.9');
  // (a client may retry a refused connect — Java's HttpClient does — so one probe can log more than one line)
  expect([...new Set(probes.map((l) => l.requestId))], all).toEqual([ids[0], ids[2]]);

  // 2: the budget trips and fails that invoke
  expect(two.body, all).toMatch(/EgressBudgetExceeded/);
  expect(i2, all).toMatchObject({ budgetExceeded: true, outcome: 'error', errorType: 'EgressBudgetExceeded' });
  expect(
    lines.filter((l) => l.event === 'budget').map((l) => [l.requestId, l.enforced]),
    all,
  ).toEqual([[ids[1], true]]);
  // (no bound on invoke 2's wire bytes: over a veth the whole download can land in the socket buffers before any cut;
  // what the function may read is bounded by the budget tests of test/metering)

  // 3: clean, and its bytes are its own
  expect(i3, all).toMatchObject({ budgetExceeded: false, outcome: 'ok' });
  expectDownload(Number(i3.rxBytes), Number(i3.txBytes), seq.sizes[2] as number);
}

/** Which of `checkSequence`'s checks held, without asserting (for the recorded results and the README table). */
export function summarize(lab: MatrixLab, seq: Sequence): MeteringChecks {
  const held = (f: () => void): boolean => {
    try {
      f();
      return true;
    } catch {
      return false;
    }
  };
  const lines = guardLines(lab);
  const ids = seq.invokes.map((i) => i.requestId);
  const inv = lines.filter((l) => l.event === 'invoke');
  const emf = emfLines(lab);
  const probes = lines.filter((l) => l.event === 'connect' && l.blocked === true && l.ip === '10.201.0.9');
  return {
    requestIds: JSON.stringify([...new Set(probes.map((l) => l.requestId))]) === JSON.stringify([ids[0], ids[2]]),
    invokeAndEmf:
      JSON.stringify(inv.map((l) => l.requestId)) === JSON.stringify(ids) &&
      JSON.stringify(emf.map((e) => e.requestId)) === JSON.stringify(ids),
    bytes:
      inv.length === 3 &&
      held(() => expectDownload(Number(inv[0]?.rxBytes), Number(inv[0]?.txBytes), seq.sizes[0] as number)) &&
      held(() => expectDownload(Number(inv[2]?.rxBytes), Number(inv[2]?.txBytes), seq.sizes[2] as number)),
    budgetFailsInvoke:
      /EgressBudgetExceeded/.test(seq.invokes[1]?.body ?? '') &&
      inv[1]?.errorType === 'EgressBudgetExceeded' &&
      lines.filter((l) => l.event === 'budget').length === 1,
    nextClean: seq.invokes[2]?.status === 200 && inv[2]?.budgetExceeded === false && inv[2]?.outcome === 'ok',
  };
}
