/**
 * The suite's recorded results: what every client did, per step and mode, as measured by the last run.
 *
 * Each test file writes `test/compat/results/<file>.json` (atomically: temp file + rename) when it finishes;
 * `test/compat/render-table.ts` turns all of them into the README's compatibility table, and
 * `test/compat/readme.test.ts` fails when the README's table differs from what these files say.
 * Only deterministic facts are stored (verdicts, error identities, intercepted calls, runtime major.minor versions):
 * a re-run that measures the same behaviour writes byte-identical files.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Mode, StepId } from './scenario.js';
import type { Verdict } from './verdict.js';

// No import of ../../support/guard.js here: the table renderer must not need the compiler or the native build.
export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../results');
export const RESULTS_VERSION = 1;

export interface StepResult {
  verdict: Verdict;
  /** what the program saw (error identity or short result) */
  sees: string;
  /** intercepted calls the guard named for this step (empty when it logged nothing about it) */
  calls: string[];
}

export interface ResultRow {
  runtime: string;
  /** the runtime's version, major.minor */
  version: string;
  client: string;
  /** the API or program, as shown in the table */
  api: string;
  /** per applicable step, per mode */
  steps: Partial<Record<StepId, Record<Mode, StepResult>>>;
  /** `uncovered` warnings the guard logged (binary paths relative to the suite's build dir) */
  uncovered: string[];
  /** a short explanation of how this client reaches the network and why the guard sees it or not */
  how: string;
}

/** A measured fact outside the table's scenario (e.g. what c-ares' raw DNS queries get). */
export interface ResultFact {
  id: string;
  runtime: string;
  title: string;
  outcome: string;
}

export interface ResultsFile {
  version: number;
  file: string;
  rows: ResultRow[];
  facts: ResultFact[];
}

export function writeResults(file: string, rows: ResultRow[], facts: ResultFact[]): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const data: ResultsFile = { version: RESULTS_VERSION, file, rows, facts };
  const path = join(RESULTS_DIR, `${file}.json`);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(tmp, path);
  return path;
}

/** Every results file, in file-name order (the table's runtime order is fixed by the renderer). */
export function readAllResults(dir = RESULTS_DIR): ResultsFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const data = JSON.parse(readFileSync(join(dir, f), 'utf8')) as ResultsFile;
      if (data.version !== RESULTS_VERSION) {
        throw new Error(`${join(dir, f)}: results version ${data.version}, expected ${RESULTS_VERSION}`);
      }
      return data;
    });
}
