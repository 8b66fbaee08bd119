/**
 * Argument parsing shared by the commands: `node:util` parseArgs in strict mode, with its errors turned into
 * `UsageError('E_USAGE', …)`, and a `--help`/`-h` flag on every command.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './types.js';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parse(argv: string[], options: OptionSpec): Parsed {
  try {
    const r = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return { values: r.values as Parsed['values'], positionals: r.positionals };
  } catch (err) {
    throw new UsageError('E_USAGE', err instanceof Error ? err.message : String(err));
  }
}

/** A string option's value (undefined when absent). */
export function str(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
