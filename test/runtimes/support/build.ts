/**
 * Builds the compiled functions of the runtime matrix, cached across runs in `$EGRESS_GUARD_TOOLS` (default
 * `~/.cache/egress-guard-tools`, the directory `.ci/run` prepares and pre-builds into):
 * - Rust (`functions/rust`, the `lambda_runtime` crate on tokio + reqwest, glibc, Cargo.lock committed): the matrix's
 *   function (`bootstrap`) and the compatibility suite's client (`compat`); one cargo target directory, so a rebuild
 *   after a source change compiles only what changed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../support/guard.js';
import { runChild } from '../../support/netns.js';

export const TOOLS = process.env.EGRESS_GUARD_TOOLS ?? join(homedir(), '.cache/egress-guard-tools');
export const RUST_FN = join(ROOT, 'test/runtimes/functions/rust');

export function findCargo(): string | undefined {
  for (const c of [join(homedir(), '.cargo/bin/cargo'), 'cargo']) {
    if (spawnSync(c, ['--version'], { stdio: 'ignore', timeout: 20_000 }).status === 0) return c;
  }
  return undefined;
}

/**
 * The Rust function's `bootstrap` (dynamically linked against glibc). Asynchronous: a cold build takes minutes on a
 * loaded machine, and the test worker must keep answering meanwhile. Throws with cargo's output on failure.
 */
export async function buildRust(): Promise<{ bootstrap: string; compat: string }> {
  const cargo = findCargo();
  if (cargo === undefined) throw new Error('cargo is not installed');
  const target = join(TOOLS, 'cargo-target');
  const child = spawn(cargo, ['build', '--release', '--locked', '--target-dir', target], {
    cwd: RUST_FN,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const r = await runChild(child, undefined, 1_200_000);
  const bin = join(target, 'release/bootstrap');
  const compat = join(target, 'release/compat');
  if (r.status !== 0 || !existsSync(bin) || !existsSync(compat)) {
    throw new Error(`cargo build of the Rust function failed: ${r.stderr}`);
  }
  return { bootstrap: bin, compat };
}
