/**
 * What every CLI command gets and returns. A command is `(argv, io) => Promise<exit status>`; `argv` is everything
 * after the command word. Commands write only through `io` (tests capture it) and resolve relative paths against
 * `io.cwd`. Conventions: `--help` prints the usage to stdout and returns 0; a usage error prints
 * `egress-guard <cmd>: <CODE>: <message>` and the usage to stderr and returns 2.
 */
import type { Readable } from 'node:stream';

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdin?: Readable;
}

export type CommandFn = (argv: string[], io: CliIO) => Promise<number>;

export interface CommandEntry {
  name: string;
  summary: string;
  /** loaded on use, so one command's dependencies never slow another's start */
  load: () => Promise<CommandFn>;
}

export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
