/**
 * Diagnostics of the policy compiler: every problem has a stable `code` (tests and tools match on it), a message
 * that says what is wrong and how to fix it, and a position `file:line:col` (1-based; col counts characters).
 * `PolicyError` carries every diagnostic of a failed compile (errors and the warnings found with them).
 * `formatDiagnostic` prints one the way compilers do: the location, the message, the source line and a caret.
 */

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  code: string;
  message: string;
  file: string;
  /** 1-based; 0 when the problem has no position (e.g. an unreadable file) */
  line: number;
  /** 1-based */
  col: number;
  severity: Severity;
  /** text of the offending line (without the newline), when known */
  sourceLine?: string;
  /** number of characters to underline (≥ 1) */
  length?: number;
}

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0] ?? diagnostics[0];
    super(
      first
        ? `${errors.length} error(s) in policy; first: ${first.file}:${first.line}:${first.col} ${first.code} ${first.message}`
        : 'invalid policy',
    );
    this.diagnostics = diagnostics;
  }

  /** Every diagnostic, pretty-printed, separated by blank lines. */
  format(): string {
    return this.diagnostics.map((d) => formatDiagnostic(d)).join('\n\n');
  }
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.col}` : d.file;
  const head = `${where}: ${d.severity} ${d.code}: ${d.message}`;
  if (d.sourceLine === undefined || d.line <= 0) return head;
  const num = String(d.line);
  const gutter = ' '.repeat(num.length);
  const text = d.sourceLine.replace(/\t/g, ' ');
  const maxLen = Math.max(1, text.length - (d.col - 1));
  const caret = '^'.repeat(Math.max(1, Math.min(d.length ?? 1, maxLen)));
  return `${head}\n ${num} | ${text}\n ${gutter} | ${' '.repeat(Math.max(0, d.col - 1))}${caret}`;
}

/** Orders diagnostics by file, line, column (errors before warnings at the same place): stable output. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.line - b.line ||
      a.col - b.col ||
      (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1),
  );
}
