/**
 * Builds the proxy-mode Go client (test/proxy/clients/go: net/http, the AWS SDK for Go v2, aws-lambda-go) as a
 * static binary (CGO_ENABLED=0: no ELF interpreter, so LD_PRELOAD never loads into it — the case proxy mode is for).
 * Cached like the compatibility suite's builds (test/compat/support/build.ts): keyed by the sources, go.mod/go.sum,
 * the toolchain and this recipe; modules come from the Go module proxy (`.ci/run` downloads them first).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findGo } from '../../compat/support/build.js';
import { ROOT } from '../../support/guard.js';
import { runChild } from '../../support/netns.js';

const SRC = join(ROOT, 'test/proxy/clients/go');

/** Asynchronous: a cold build takes a minute or more, and the test worker must keep answering meanwhile. */
export async function buildGoClient(): Promise<string> {
  const go = findGo();
  if (go === undefined) throw new Error('go is not installed');
  const key = ['main.go', 'go.mod', 'go.sum'].map((f) => readFileSync(join(SRC, f), 'utf8')).join('\0');
  const version = spawnSync(go, ['version'], { encoding: 'utf8' }).stdout;
  const hash = createHash('sha256')
    .update(key + version + buildGoClient.toString())
    .digest('hex')
    .slice(0, 16);
  const dir = join(tmpdir(), 'egress-guard-proxy-build');
  const out = join(dir, `proxyclient-${hash}`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  const child = spawn(go, ['build', '-trimpath', '-ldflags=-s -w', '-o', tmp, '.'], {
    cwd: SRC,
    env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const r = await runChild(child, undefined, 540_000);
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`go build of the proxy client failed: ${r.stderr}`);
  }
  renameSync(tmp, out);
  return out;
}
