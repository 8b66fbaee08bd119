/**
 * The real AWS Lambda Runtime Interface Emulator (Go module github.com/aws/aws-lambda-runtime-interface-emulator, the
 * version in test/runtimes/RIE_VERSION), run inside a network namespace the test created. It runs Lambda's lifecycle
 * for real: external extensions from /opt/extensions (started and registered before the runtime), the Runtime API at
 * 127.0.0.1:9001, invokes posted to 127.0.0.1:8080, request ids, init and invoke errors.
 *
 * API
 * - `rieBinary()` → path of the built emulator (built and cached on first use, like `.ci/run` does, in
 *   `$EGRESS_GUARD_TOOLS` or `~/.cache/egress-guard-tools`); `needRie()` is the capability gate.
 * - `await Rie.start(ns, { bootstrap, env, opt?, cwd? })` → a running emulator. `bootstrap` is the runtime's command
 *   line (what Lambda would exec: `/var/task/bootstrap`, `python3 -m awslambdaric app.handler` …). `opt`: a directory
 *   bind-mounted over `/opt` in a private mount namespace for the emulator and everything it starts (the layers'
 *   `/opt/extensions`, `/opt/egress-guard`), so the machine's /opt is never touched. `env`: the function's
 *   environment (the emulator passes it to the runtime and to extensions, as Lambda does).
 * - `await rie.invoke(payload)` → `{ status, body, requestId }` (the request id from the emulator's START line).
 * - `rie.output` everything the emulator, the runtime and the extensions printed; `rie.stop()`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { findGo } from '../../compat/support/build.js';
import { need } from '../../support/capability.js';
import { ROOT } from '../../support/guard.js';
import type { Netns } from '../../support/netns.js';

export const RIE_VERSION = readFileSync(join(ROOT, 'test/runtimes/RIE_VERSION'), 'utf8').trim();
const RIE_DIR = join(
  process.env.EGRESS_GUARD_TOOLS ?? join(homedir(), '.cache/egress-guard-tools'),
  `rie-${RIE_VERSION}`,
);
export const RIE_ADDR = '127.0.0.1:8080';

export function rieBinary(): string | undefined {
  const bin = join(RIE_DIR, 'aws-lambda-rie');
  if (existsSync(bin)) return bin;
  const go = findGo();
  if (go === undefined) return undefined;
  mkdirSync(RIE_DIR, { recursive: true });
  const r = spawnSync(
    go,
    ['install', `github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@${RIE_VERSION}`],
    {
      env: { ...process.env, GOBIN: RIE_DIR, GOFLAGS: '', GOTOOLCHAIN: 'local' },
      encoding: 'utf8',
      timeout: 540_000,
    },
  );
  return r.status === 0 && existsSync(bin) ? bin : undefined;
}

export function needRie(): boolean {
  return need(
    'the Lambda Runtime Interface Emulator',
    rieBinary() !== undefined,
    `go install of aws-lambda-rie@${RIE_VERSION} failed`,
  );
}

export interface RieOptions {
  bootstrap: string[];
  env: Record<string, string>;
  opt?: string;
  cwd?: string;
}

export interface Invocation {
  status: number;
  body: string;
  requestId: string;
  /** wall time of the request, ms */
  ms: number;
}

export class Rie {
  output = '';
  private constructor(
    readonly ns: Netns,
    readonly child: ReturnType<Netns['spawn']>,
  ) {}

  static async start(ns: Netns, o: RieOptions): Promise<Rie> {
    const bin = rieBinary();
    if (bin === undefined) throw new Error('aws-lambda-rie is not available');
    const assigns = Object.entries({ PATH: process.env.PATH ?? '/usr/bin:/bin', ...o.env }).map(
      ([k, v]) => `${k}=${v}`,
    );
    const rie = [bin, '--runtime-interface-emulator-address', RIE_ADDR, ...o.bootstrap];
    // A private mount namespace (no propagation back) with the test's directory over /opt, then the emulator with
    // exactly the function's environment.
    const script = `${o.opt ? 'mount --bind "$0" /opt && ' : ''}cd "$1" && shift 2 && exec env -i "$@"`;
    const child = ns.spawn('unshare', [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      script,
      o.opt ?? '-',
      o.cwd ?? '/',
      ...assigns,
      ...rie,
    ]);
    const r = new Rie(ns, child);
    child.stdout?.on('data', (d: Buffer) => {
      r.output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      r.output += d.toString();
    });
    return r;
  }

  /**
   * Posts one invoke and waits for the result. `retry` (default): curl retries while the emulator starts — and also
   * on an HTTP 5xx answer, which runs the event again under a new request id; pass `retry: false` where an invoke is
   * expected to fail that way (a retry would be a second invoke).
   */
  async invoke(payload: unknown, o: { retry?: boolean } = {}): Promise<Invocation> {
    const before = this.requestIds().length;
    const t = Date.now();
    const retry = o.retry === false ? [] : ['--retry', '50', '--retry-connrefused', '--retry-delay', '0'];
    const r = await this.ns.run('curl', [
      '-sS',
      ...retry,
      '--max-time',
      '60',
      '-o',
      '-',
      '-w',
      '\n%{http_code}',
      '-d',
      JSON.stringify(payload),
      `http://${RIE_ADDR}/2015-03-31/functions/function/invocations`,
    ]);
    const ms = Date.now() - t;
    const nl = r.stdout.lastIndexOf('\n');
    const status = Number(r.stdout.slice(nl + 1));
    for (let i = 0; i < 100 && this.requestIds().length <= before; i++) await new Promise((res) => setTimeout(res, 20));
    const ids = this.requestIds();
    return { status, body: r.stdout.slice(0, nl), requestId: ids[before] ?? '', ms };
  }

  /** Request ids of the START lines the emulator printed, in order. */
  requestIds(): string[] {
    return [...this.output.matchAll(/START RequestId: ([0-9a-f-]+)/g)].map((m) => m[1] as string);
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}
