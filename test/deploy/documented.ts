/**
 * Test helpers for the deployment examples: run the `npx egress-guard …` commands a file documents (in its header
 * comment, as a user would copy them) in a scratch copy of its directory, through the real CLI.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { runCli } from '../policy/helpers.js';

/**
 * The argv of every `npx egress-guard …` command in `file`'s header comment — the indented command lines (`#   …`),
 * also inside `$(…)` — in order.
 */
export function documentedCommands(file: string): string[][] {
  const out: string[][] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!/^#\s{3}\S/.test(line)) continue;
    for (const m of line.matchAll(/npx egress-guard ([^)\n]*)/g)) out.push((m[1] as string).trim().split(/\s+/));
  }
  return out;
}

/** A scratch copy of `dir` with a starter policy.yaml (`egress-guard init`), removed after the file's tests. */
export async function scratchCopy(dir: string): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'eg-example-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  cpSync(dir, work, { recursive: true });
  const init = await runCli(['init'], work);
  expect(init.status, init.stderr).toBe(0);
  return work;
}

/** Runs the documented commands in `cwd`; returns each one's stdout. */
export async function runDocumented(file: string, cwd: string): Promise<string[]> {
  const outs: string[] = [];
  for (const argv of documentedCommands(file)) {
    const r = await runCli(argv, cwd);
    expect(r.status, `egress-guard ${argv.join(' ')}\n${r.stderr}`).toBe(0);
    outs.push(r.stdout);
  }
  return outs;
}
