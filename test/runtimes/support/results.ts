/**
 * The runtime matrix's recorded results: per runtime, what the sequence of ./matrix.ts showed under the real Lambda
 * Runtime Interface Emulator. Each matrix test writes `test/runtimes/results/<file>.json` when it finishes; the README
 * compatibility table's "metering" column is rendered from them (test/compat/render-table.ts). Only deterministic
 * facts are stored (which checks held), so an unchanged behaviour rewrites identical files.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// No import of the test harness here: the table renderer reads these files without the native build.
export const MATRIX_RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../results');

/** The checks of ./matrix.ts `checkSequence`, each true when it held. */
export interface MeteringChecks {
  /** the blocked probes' guard lines carry their invoke's request id */
  requestIds: boolean;
  /** exactly one invoke line and one EMF line per invoke, carrying its request id */
  invokeAndEmf: boolean;
  /** rxBytes of invokes 1 and 3 within the download bound of what the server sent */
  bytes: boolean;
  /** the over-budget invoke failed with EgressBudgetExceeded and one budget line */
  budgetFailsInvoke: boolean;
  /** the invoke after it was clean (its own bytes, no budget) */
  nextClean: boolean;
}

export interface MatrixResult {
  file: string;
  runtime: string;
  /** the runtime interface client and how the guard is deployed, as shown in the table */
  client: string;
  checks: MeteringChecks;
}

export function writeMatrixResult(r: MatrixResult): void {
  mkdirSync(MATRIX_RESULTS_DIR, { recursive: true });
  const path = join(MATRIX_RESULTS_DIR, `${r.file}.json`);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(r, null, 2)}\n`);
  renameSync(tmp, path);
}

export function readMatrixResults(dir = MATRIX_RESULTS_DIR): MatrixResult[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as MatrixResult);
}
