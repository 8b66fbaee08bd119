/**
 * Capability gates for tests that need something from the machine (root, network namespaces, a compiler, a runtime).
 *
 * Contract: `need(name, available, reason)` returns true when the capability is there. When it is not:
 * - in CI (`CI=true`) it throws, so a missing install step fails the run instead of silently skipping;
 * - elsewhere it prints why the dependent tests are skipped and returns false (use with `describe.skipIf(!ok)`).
 */
import { spawnSync } from 'node:child_process';

export function inCI(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

export function need(name: string, available: boolean, reason: string): boolean {
  if (available) return true;
  if (inCI()) throw new Error(`CI requires ${name}, but it is not available: ${reason}`);
  console.warn(`[skip] tests needing ${name} are skipped: ${reason}`);
  return false;
}

/** True when `cmd args…` runs and exits 0 (output discarded). */
export function runs(cmd: string, args: string[] = []): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Root and a working `ip netns` (creating a namespace is the only real proof). */
export function needNetns(): boolean {
  if (!isRoot()) return need('network namespaces', false, 'not running as root');
  return need('network namespaces', runs('unshare', ['-n', 'true']), '`unshare -n true` failed');
}

export function needCommand(cmd: string, versionArg = '--version'): boolean {
  return need(cmd, runs(cmd, [versionArg]), `\`${cmd} ${versionArg}\` did not run`);
}
