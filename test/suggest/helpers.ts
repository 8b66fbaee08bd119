/**
 * Test helpers for `egress-guard suggest`: run the CLI function in-process with captured output, feed stdin from
 * strings or chunk lists, and build guard log lines.
 */
import { Readable } from 'node:stream';
import { cli } from '../../policy/cli/index.js';

export const FIXTURES = new URL('../fixtures/logs/', import.meta.url).pathname;

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `egress-guard suggest …` through `cli()`; `stdin` is a string, a Buffer, or chunks delivered one by one. */
export async function suggest(
  args: string[],
  opts: { stdin?: string | Buffer | Array<string | Buffer>; cwd?: string } = {},
): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const chunks = opts.stdin === undefined ? [] : Array.isArray(opts.stdin) ? opts.stdin : [opts.stdin];
  const stdin = Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c)));
  const code = await cli(['suggest', ...args], {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    cwd: opts.cwd ?? FIXTURES,
    env: {},
    stdin,
  });
  return { code, stdout, stderr };
}

let clock = Date.UTC(2026, 10, 27, 12, 0, 0);

/** A guard network line (docs/LOGGING.md) with sensible defaults. */
export function netLine(f: Record<string, unknown>): string {
  const decision = (f.decision as string | undefined) ?? 'allow';
  return JSON.stringify({
    level: decision === 'allow' ? 30 : 40,
    time: clock++,
    pid: 8,
    name: 'egress-guard',
    msg: `${decision} ${f.event}`,
    decision,
    blocked: false,
    rule: decision === 'allow' ? 'allow[0]' : 'default',
    mode: 'audit',
    ...f,
  });
}

export function invokeLine(fn: string, requestId: string, rx: number, tx: number, extra = {}): string {
  return JSON.stringify({
    level: 30,
    time: clock++,
    pid: 8,
    name: 'egress-guard',
    msg: 'invoke',
    event: 'invoke',
    requestId,
    function: fn,
    rxBytes: rx,
    txBytes: tx,
    durationMs: 10,
    ...extra,
  });
}

export function connect(host: string | undefined, ip: string, port: number, extra = {}): string {
  return netLine({ event: 'connect', ...(host ? { host } : {}), ip, port, proto: 'tcp', ...extra });
}

/** The `allow:` items of a suggested policy, as `key: value` strings in order (comments dropped). */
export function ruleHeads(policy: string): string[] {
  return policy
    .split('\n')
    .filter((l) => /^ {2}- /.test(l))
    .map((l) => l.slice(4));
}
