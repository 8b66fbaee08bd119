/**
 * The README's compatibility table is generated from the suite's recorded results and must match them exactly
 * (`npm run compat:table` regenerates it). Also checks the renderer on a hand-made results file, so a wrong
 * rendering rule cannot hide behind a regenerated README.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readMatrixResults } from '../runtimes/support/results.js';
import { BEGIN, END, README, renderTable, spliceReadme } from './render-table.js';
import { type ResultsFile, readAllResults } from './support/results.js';

const FILES = ['c', 'dotnet', 'go', 'java', 'node', 'python', 'ruby', 'rust', 'shell'];

describe('compat: README table', () => {
  it('every runtime test file has recorded results', () => {
    expect(readAllResults().map((f) => f.file)).toEqual(FILES);
  });

  it('every runtime of the matrix has recorded results', () => {
    expect(readMatrixResults().map((f) => f.file)).toEqual([
      'arm64',
      'c',
      'dotnet',
      'go',
      'java',
      'node',
      'python',
      'ruby',
      'rust',
    ]);
  });

  it('the README table is exactly what the recorded results render to', () => {
    const readme = readFileSync(README, 'utf8');
    const table = renderTable(readAllResults(), readMatrixResults());
    const current = readme.slice(readme.indexOf(BEGIN), readme.indexOf(END) + END.length);
    expect(current, 'README.md is stale: run `npm run compat:table` and commit README.md').toBe(table);
    expect(spliceReadme(readme, table)).toBe(readme);
  });

  it('renders verdicts, gaps and uncovered warnings as the table legend says', () => {
    const file: ResultsFile = {
      version: 1,
      file: 'x',
      facts: [{ id: 'f', runtime: 'X', title: 'a fact', outcome: 'it happened' }],
      rows: [
        {
          runtime: 'X',
          version: '1.2',
          client: 'c',
          api: '`c`',
          how: 'somehow',
          uncovered: ['bin-static'],
          steps: {
            allowed: {
              audit: { verdict: 'works', sees: 'HTTP 200', calls: ['getaddrinfo'] },
              enforce: { verdict: 'works', sees: 'HTTP 200', calls: [] },
            },
            'denied-ip': {
              audit: { verdict: 'logged', sees: 'HTTP 200', calls: ['connect'] },
              enforce: { verdict: 'blocked', sees: 'E|ACCES', calls: ['connect'] },
            },
            udp: {
              audit: { verdict: 'missed', sees: 'sent', calls: [] },
              enforce: { verdict: 'missed', sees: 'sent', calls: [] },
            },
          },
        },
      ],
    };
    const lines = renderTable([file]).split('\n');
    expect(lines[0]).toBe(BEGIN);
    expect(lines.at(-1)).toBe(END);
    expect(lines[3]).toBe(
      '| X 1.2 | `c` | ✅ works | — | 🛑 blocked: `E\\|ACCES` | ⚠️ **not seen** | **partial** | not measured | `connect`, `getaddrinfo` | ' +
        'somehow; the guard logs one `uncovered` warning naming `bin-static` |',
    );
    expect(lines).toContain('- **X** — a fact: it happened.');
  });
});
