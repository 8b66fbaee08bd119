#!/usr/bin/env node
/** The `egress-guard` executable: runs `cli()` on the process arguments; an unexpected exception exits 70. */
import { cli } from './cli/index.js';

try {
  process.exitCode = await cli(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    cwd: process.cwd(),
    env: process.env,
    stdin: process.stdin,
  });
} catch (err) {
  process.stderr.write(
    `egress-guard: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 70;
}
