/** Test helpers: a captured CLI io, temp directories, compiling policy text. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { type CliIO, cli } from '../../policy/cli/index.js';
import { compilePolicyText, loadCompiled, PolicyError } from '../../policy/index.js';

export function tempDir(prefix = 'egp-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Captured {
  status: number;
  stdout: string;
  stderr: string;
}

export async function runCli(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    cwd,
    env,
  };
  const status = await cli(argv, io);
  return { status, stdout, stderr };
}

/** Compiles YAML text (names files resolved against `cwd`) and loads the result with the reference matcher. */
export async function compileAndLoad(text: string, cwd = process.cwd(), file = 'policy.yaml') {
  const r = await compilePolicyText(text, file, { cwd });
  return { ...r, policy: loadCompiled(r.bytes) };
}

/** The diagnostics of a policy that must fail to compile. */
export async function diagnosticsOf(text: string, cwd = process.cwd(), file = 'policy.yaml') {
  try {
    await compilePolicyText(text, file, { cwd });
  } catch (err) {
    if (err instanceof PolicyError) return err.diagnostics;
    throw err;
  }
  throw new Error('expected the policy to fail to compile');
}
