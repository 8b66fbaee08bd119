/**
 * `npm run gen`: writes every generated file from the specs in contracts/ (contracts/README.md).
 * `npm run gen -- --check`: writes nothing; exits 1 naming each generated file that is stale.
 * Exit 2 when a spec is invalid (every problem is listed on stderr).
 */
import { staleOutputs, writeOutputs } from './files.js';
import { SpecError } from './load.js';

function main(argv: string[]): number {
  try {
    if (argv.includes('--check')) {
      const stale = staleOutputs();
      for (const p of stale) process.stderr.write(`gen: ${p} is stale: run \`npm run gen\` and commit it\n`);
      return stale.length === 0 ? 0 : 1;
    }
    writeOutputs();
    return 0;
  } catch (e) {
    if (e instanceof SpecError) {
      process.stderr.write(`gen: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = main(process.argv.slice(2));
