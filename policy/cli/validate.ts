/**
 * `egress-guard validate <policy.yaml> [--json]`: compiles in memory and reports every error and warning
 * (file:line:col, code, message, the line with a caret). Writes no file.
 * Exit: 0 valid (warnings allowed), 1 errors, 2 usage or I/O error.
 * `--json` prints `{"ok":bool,"diagnostics":[{code,message,file,line,col,severity}]}` on stdout instead.
 */
import { compilePolicyFileSync } from '../compile/compile.js';
import { type Diagnostic, PolicyError } from '../diagnostics.js';
import { parse } from './args.js';
import { printDiagnostics, reportError, summarise } from './report.js';
import { type CliIO, EXIT_FAIL, EXIT_OK, UsageError } from './types.js';

export const VALIDATE_USAGE = `usage: egress-guard validate <policy.yaml> [--json]
  Checks the policy and prints every error and warning with file:line:col.
  --json   print {"ok": …, "diagnostics": […]} to stdout
  exit status: 0 valid, 1 errors, 2 usage or I/O error
`;

function plain(d: Diagnostic) {
  return { code: d.code, message: d.message, file: d.file, line: d.line, col: d.col, severity: d.severity };
}

export async function validateCommand(argv: string[], io: CliIO): Promise<number> {
  let json = false;
  try {
    const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
    json = values.json === true;
    if (values.help) {
      io.stdout(VALIDATE_USAGE);
      return EXIT_OK;
    }
    if (positionals.length !== 1) throw new UsageError('E_USAGE', 'give exactly one policy file');
    const input = positionals[0]!;
    const r = compilePolicyFileSync(input, undefined, { cwd: io.cwd });
    if (json) {
      io.stdout(`${JSON.stringify({ ok: true, diagnostics: r.warnings.map(plain) })}\n`);
    } else {
      printDiagnostics(io, r.warnings);
      io.stdout(`${input}: valid (${r.ast.rules.length} rules, mode ${r.ast.mode}; ${summarise(r.warnings)})\n`);
    }
    return EXIT_OK;
  } catch (err) {
    if (json && err instanceof PolicyError) {
      io.stdout(`${JSON.stringify({ ok: false, diagnostics: err.diagnostics.map(plain) })}\n`);
      return EXIT_FAIL;
    }
    return reportError(io, 'validate', VALIDATE_USAGE, err);
  }
}
