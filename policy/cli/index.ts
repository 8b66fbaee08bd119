/**
 * `cli(argv, io)`: the whole `egress-guard` command line as a function (tests call it directly; `../bin.ts` only
 * maps its result to the process exit code). `argv` excludes `node` and the script. Dispatches to the commands
 * registered in `./commands.ts`. Exit status: the command's; 2 for an unknown command or missing command word.
 */
import { COMMANDS } from './commands.js';
import { type CliIO, EXIT_OK, EXIT_USAGE } from './types.js';

export type { CliIO, CommandEntry, CommandFn } from './types.js';

export function topUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: egress-guard <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n'egress-guard <command> --help' shows a command's options.\n`;
}

export async function cli(argv: string[], io: CliIO): Promise<number> {
  const [word, ...rest] = argv;
  if (word === undefined || word === '--help' || word === '-h' || word === 'help') {
    (word === undefined ? io.stderr : io.stdout)(topUsage());
    return word === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const entry = COMMANDS.find((c) => c.name === word);
  if (!entry) {
    io.stderr(`egress-guard: E_USAGE: unknown command ${JSON.stringify(word)}\n${topUsage()}`);
    return EXIT_USAGE;
  }
  const run = await entry.load();
  return run(rest, io);
}
