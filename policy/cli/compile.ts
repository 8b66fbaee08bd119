/**
 * `egress-guard compile <policy.yaml> [-o <file>] [--format-version 1|2|3]`: compiles a policy to the binary `.egp`
 * file (docs/FORMAT.md; default version WRITE_VERSION).
 * Default output: the input path with `.yaml`/`.yml` replaced by `.egp` (`.egp` appended to any other name).
 * Written to a temp file and renamed: on any error nothing is written and no old output is touched.
 * Warnings go to stderr; a one-line summary to stdout. Exit: 0 written, 1 policy errors, 2 usage or I/O error.
 */
import { resolve } from 'node:path';
import { compilePolicyFileSync } from '../compile/compile.js';
import { writeFileAtomic } from '../compile/write-atomic.js';
import { WRITE_VERSION } from '../gen/format.js';
import { parse, str } from './args.js';
import { printDiagnostics, reportError } from './report.js';
import { type CliIO, EXIT_OK, UsageError } from './types.js';

export const COMPILE_USAGE = `usage: egress-guard compile <policy.yaml> [-o <file.egp>] [--format-version 1|2|3]
  Compiles the policy to the binary allowlist the interposer maps.
  -o, --output FILE   where to write (default: the policy path with .yaml/.yml replaced by .egp)
  -q, --quiet         print nothing on success (warnings are still printed)
  --format-version N  write format version 1, 2 or 3 (default ${WRITE_VERSION}; an older one for a guard layer that predates the default)
  exit status: 0 written, 1 the policy has errors (nothing written), 2 usage or I/O error
`;

export function defaultOutput(input: string): string {
  return /\.ya?ml$/i.test(input) ? input.replace(/\.ya?ml$/i, '.egp') : `${input}.egp`;
}

export async function compileCommand(argv: string[], io: CliIO): Promise<number> {
  try {
    const { values, positionals } = parse(argv, {
      output: { type: 'string', short: 'o' },
      quiet: { type: 'boolean', short: 'q' },
      'format-version': { type: 'string' },
    });
    if (values.help) {
      io.stdout(COMPILE_USAGE);
      return EXIT_OK;
    }
    if (positionals.length !== 1) throw new UsageError('E_USAGE', 'give exactly one policy file');
    const input = positionals[0]!;
    const out = str(values.output) ?? defaultOutput(input);
    const fv = str(values['format-version']) ?? String(WRITE_VERSION);
    if (fv !== '1' && fv !== '2' && fv !== '3') {
      throw new UsageError('E_USAGE', `--format-version must be 1, 2 or 3, not ${fv}`);
    }
    const t0 = performance.now();
    const r = compilePolicyFileSync(input, undefined, { cwd: io.cwd, formatVersion: Number(fv) as 1 | 2 | 3 });
    printDiagnostics(io, r.warnings);
    writeFileAtomic(resolve(io.cwd, out), r.bytes);
    if (!values.quiet) {
      const ms = (performance.now() - t0).toFixed(0);
      const w = r.warnings.length;
      io.stdout(
        `wrote ${out} (${r.bytes.length} bytes, ${r.ast.rules.length} rules, mode ${r.ast.mode}${w ? `, ${w} warning${w === 1 ? '' : 's'}` : ''}) in ${ms} ms\n`,
      );
    }
    return EXIT_OK;
  } catch (err) {
    return reportError(io, 'compile', COMPILE_USAGE, err);
  }
}
