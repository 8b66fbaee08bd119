/** Output helpers shared by the commands: diagnostics pretty-printed (or as JSON), errors as one coded line. */
import { type Diagnostic, formatDiagnostic, PolicyError } from '../diagnostics.js';
import { FormatError } from '../match/errors.js';
import { type CliIO, EXIT_FAIL, EXIT_USAGE, UsageError } from './types.js';

export function printDiagnostics(io: CliIO, ds: readonly Diagnostic[]): void {
  for (const d of ds) io.stderr(`${formatDiagnostic(d)}\n\n`);
}

export function summarise(ds: readonly Diagnostic[]): string {
  const e = ds.filter((d) => d.severity === 'error').length;
  const w = ds.length - e;
  return `${e} error${e === 1 ? '' : 's'}, ${w} warning${w === 1 ? '' : 's'}`;
}

/**
 * Reports an error a command caught and returns its exit status: a policy with errors → 1 (diagnostics printed);
 * usage → 2 with the usage; an unreadable or invalid compiled file → 2. Anything else is rethrown.
 */
export function reportError(io: CliIO, cmd: string, usage: string, err: unknown, policyStatus = EXIT_FAIL): number {
  if (err instanceof PolicyError) {
    printDiagnostics(io, err.diagnostics);
    io.stderr(`egress-guard ${cmd}: policy has ${summarise(err.diagnostics)}\n`);
    return policyStatus;
  }
  if (err instanceof UsageError) {
    io.stderr(`egress-guard ${cmd}: ${err.code}: ${err.message}\n${usage}`);
    return EXIT_USAGE;
  }
  if (err instanceof FormatError) {
    io.stderr(`egress-guard ${cmd}: ${err.message} (recompile the policy with \`egress-guard compile\`)\n`);
    return EXIT_USAGE;
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('E')) {
    io.stderr(`egress-guard ${cmd}: E_IO: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  throw err;
}
