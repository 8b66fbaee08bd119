/**
 * The guard's pino logger for the Node wrapper (docs/LOGGING.md: one JSON object per line, `name: "egress-guard"`,
 * numeric pino levels, epoch-millisecond `time`, `pid`).
 *
 * Destination from `EGRESS_GUARD_LOG`, the same variable the interposer reads: unset or `stderr` → fd 2; `off` → no
 * lines; anything else → that file, opened for append (`O_APPEND`, like the interposer, so both can share it).
 * Writes are synchronous: Lambda may freeze the process as soon as the response is sent, and a buffered line would be
 * lost or land in the next invoke.
 */
import pino, { type Logger } from 'pino';

export type GuardLogger = Logger;

export function createGuardLogger(dest: string | undefined = process.env.EGRESS_GUARD_LOG): GuardLogger {
  const d = dest?.trim() ?? '';
  const off = d === 'off';
  const stream =
    d === '' || d === 'stderr' || off
      ? pino.destination({ fd: 2, sync: true })
      : pino.destination({ dest: d, sync: true, append: true, mkdir: true });
  return pino(
    {
      name: 'egress-guard',
      level: off ? 'silent' : 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.epochTime,
    },
    stream,
  );
}
