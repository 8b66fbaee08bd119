/**
 * Readable output for the demo, in the spirit of pino-pretty: one line per guard decision, invoke summary or budget
 * breach, from the JSON lines the guard writes (docs/LOGGING.md), plus a tally for the final summary.
 *
 * Decision words (stable; the demo test asserts them): ALLOW, WOULD-BLOCK (audit: denied but let through), BLOCKED
 * (enforce: failed the call), BUDGET (a per-invoke budget was exceeded), INVOKE (per-invoke bytes), ERROR.
 * Colours only on a TTY and without NO_COLOR.
 */
export interface Tally {
  allowed: number;
  wouldBlock: number;
  blocked: number;
  budgetBreaches: number;
  invokes: number;
  failedInvokes: number;
  rxBytes: number;
  txBytes: number;
}

export const newTally = (): Tally => ({
  allowed: 0,
  wouldBlock: 0,
  blocked: 0,
  budgetBreaches: 0,
  invokes: 0,
  failedInvokes: 0,
  rxBytes: 0,
  txBytes: 0,
});

const useColour = process.stdout.isTTY === true && !process.env.NO_COLOR;
const paint = (code: string) => (s: string) => (useColour ? `\x1b[${code}m${s}\x1b[0m` : s);
export const c = {
  red: paint('31'),
  green: paint('32'),
  yellow: paint('33'),
  blue: paint('34'),
  magenta: paint('35'),
  cyan: paint('36'),
  dim: paint('2'),
  bold: paint('1'),
};

export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '?';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function time(ms: unknown): string {
  const d = typeof ms === 'number' ? new Date(ms) : new Date();
  return d.toISOString().slice(11, 23);
}

type Line = Record<string, unknown>;

function dest(l: Line): string {
  const host = typeof l.host === 'string' ? l.host : '';
  const ip = typeof l.ip === 'string' ? (l.ip.includes(':') ? `[${l.ip}]` : l.ip) : '';
  const port = typeof l.port === 'number' ? `:${l.port}` : '';
  const proto = typeof l.proto === 'string' ? `/${l.proto}` : '';
  if (host && ip) return `${host} (${ip}${port}${proto})`;
  return `${host || ip}${port}${proto}`;
}

function budgetText(b: unknown): string {
  if (!b || typeof b !== 'object') return 'none';
  const parts = Object.entries(b as Record<string, number>).map(([k, v]) => `${k.replace('Bytes', '')} ${bytes(v)}`);
  return parts.length ? parts.join(', ') : 'none';
}

/**
 * Formats one guard JSON line (or returns undefined when it is not ours) and counts it into `tally`.
 * `tag` names the function and mode, e.g. `node·audit`.
 */
export function formatGuardLine(l: Line, tag: string, tally: Tally): string | undefined {
  if (l.name !== 'egress-guard') return undefined;
  const req = typeof l.requestId === 'string' ? c.dim(`req ${l.requestId.slice(0, 8)}`) : c.dim('init       ');
  const head = `${c.dim(time(l.time))} ${c.cyan(`[${tag}]`)} ${req}`;
  const event = String(l.event ?? '');
  if (event === 'dns' || event === 'connect' || event === 'sendto') {
    let word: string;
    if (l.decision === 'allow') {
      tally.allowed++;
      word = c.green('ALLOW      ');
    } else if (l.blocked === true) {
      tally.blocked++;
      word = c.red(c.bold('BLOCKED    '));
    } else {
      tally.wouldBlock++;
      word = c.yellow('WOULD-BLOCK');
    }
    const why = `rule=${String(l.rule ?? '?')}${l.errno ? ` errno=${String(l.errno)}` : ''}`;
    return `${head} ${word} ${event.padEnd(7)} ${dest(l)}  ${c.dim(why)}`;
  }
  if (event === 'invoke') {
    tally.invokes++;
    tally.rxBytes += Number(l.rxBytes ?? 0);
    tally.txBytes += Number(l.txBytes ?? 0);
    if (l.budgetExceeded === true) tally.budgetBreaches++;
    const over = l.budgetExceeded === true ? c.red(' OVER BUDGET') : '';
    const counts =
      typeof l.allowed === 'number' ? c.dim(` allowed=${l.allowed} denied=${l.denied} blocked=${l.blocked}`) : '';
    return `${head} ${c.blue('INVOKE     ')} rx ${bytes(Number(l.rxBytes))}  tx ${bytes(Number(l.txBytes))}  ${typeof l.durationMs === 'number' ? l.durationMs.toFixed(1) : '?'} ms  budget: ${budgetText(l.budget)}${over}${counts}`;
  }
  if (event === 'budget') {
    return `${head} ${c.magenta(c.bold('BUDGET     '))} ${String(l.msg ?? 'budget exceeded')}`;
  }
  if (event === 'init') {
    return `${head} ${c.dim('INIT       ')} ${c.dim(String(l.msg ?? ''))}`;
  }
  const level = Number(l.level ?? 30);
  const word = level >= 50 ? c.red('ERROR      ') : level >= 40 ? c.yellow('WARN       ') : c.dim('INFO       ');
  return `${head} ${word} ${event ? `${event}: ` : ''}${String(l.msg ?? '')}${l.error ? c.dim(` (${String(l.error)})`) : ''}`;
}
