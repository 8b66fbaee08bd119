/**
 * `egress-guard suggest [options] [log-file…]` — turn the guard's audit logs into a policy, or with
 * `--against policy.yaml` into a diff against an existing one (docs/SUGGEST.md).
 *
 * Contract:
 * - Inputs: the files given (`-` = stdin; `.gz` files are decompressed), else stdin. Missing files are reported
 *   before anything is read.
 * - Output (the policy, or the `--against` report) goes to stdout, or to `-o FILE`, written to a temporary file and
 *   renamed, so a failed run never leaves a half-written file. The account of what was read (lines, records, bad
 *   lines by code with their first locations) always goes to stderr.
 * - Exit status: 0 done (with `--against`: the policy allows everything observed); 1 `--against` found denied
 *   destinations; 2 usage, input or policy errors. Errors are one stderr line
 *   `egress-guard suggest: <CODE>: <what and how to fix>`, with stable codes E_SUGGEST_USAGE (then the usage),
 *   E_SUGGEST_INPUT, E_SUGGEST_OUTPUT, E_SUGGEST_POLICY (the `--against` policy does not compile; its diagnostics
 *   follow), E_SUGGEST_SELFCHECK (a bug: the suggestion failed its own compile-and-match check).
 */
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { formatDiagnostic, PolicyError } from '../diagnostics.js';
import { writeFileAtomic } from '../index.js';
import { againstJson, renderAgainst } from '../suggest/against-report.js';
import { openInput } from '../suggest/input.js';
import { againstPolicy, collect, SuggestError, suggestPolicy, summary } from '../suggest/run.js';
import { type CliIO, EXIT_FAIL, EXIT_OK, EXIT_USAGE } from './types.js';

export const SUGGEST_USAGE = `usage: egress-guard suggest [options] [log-file… | -]
  Reads the guard's JSON log lines (plain, Lambda text format, CloudWatch exports) and prints a policy.yaml.
  -o, --output FILE       write to FILE instead of stdout
  --against POLICY.yaml   instead of a policy: what POLICY denies (with the smallest fix) and its unused rules
  --json                  with --against: the report as JSON
  --function NAME         function name for events no invoke summary or log stream ties to a function
  --min-siblings N        distinct names (addresses) needed for a *.parent wildcard (CIDR); default 3, 0 = never
  --margin X              budgets = largest per-function p99 × X; default 2
  --no-budgets            propose no budgets
  --mode audit|enforce    mode written into the policy; default audit
  exit status: 0 done (--against: nothing denied), 1 --against found denied destinations, 2 usage, input or policy error
`;

interface Args {
  files: string[];
  output?: string;
  against?: string;
  json: boolean;
  fn?: string;
  minSiblings?: number;
  margin?: number;
  budgets: boolean;
  mode?: 'audit' | 'enforce';
}

function usage(msg: string): never {
  throw new SuggestError('E_SUGGEST_USAGE', msg);
}

export function parseSuggestArgs(argv: string[]): Args {
  const a: Args = { files: [], json: false, budgets: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-o':
      case '--output':
        a.output = value();
        break;
      case '--against':
        a.against = value();
        break;
      case '--json':
        a.json = true;
        break;
      case '--function':
        a.fn = value();
        break;
      case '--min-siblings': {
        const v = value();
        if (!/^\d{1,6}$/.test(v)) usage(`--min-siblings takes a whole number, got ${JSON.stringify(v)}`);
        a.minSiblings = Number(v);
        break;
      }
      case '--margin': {
        const v = value();
        const x = Number(v);
        if (!/^\d+(\.\d+)?$/.test(v) || x < 1) usage(`--margin takes a number ≥ 1, got ${JSON.stringify(v)}`);
        a.margin = x;
        break;
      }
      case '--no-budgets':
        a.budgets = false;
        break;
      case '--mode': {
        const v = value();
        if (v !== 'audit' && v !== 'enforce') usage(`--mode is audit or enforce, got ${JSON.stringify(v)}`);
        a.mode = v;
        break;
      }
      case '-h':
      case '--help':
        throw new SuggestError('HELP', SUGGEST_USAGE);
      default:
        if (arg !== '-' && arg.startsWith('-')) usage(`unknown option ${arg}`);
        a.files.push(arg);
    }
  }
  if (a.json && a.against === undefined) usage('--json only applies to --against');
  return a;
}

export async function suggestCommand(argv: string[], io: CliIO): Promise<number> {
  const cwd = io.cwd;
  try {
    const args = parseSuggestArgs(argv);
    const files = args.files.length > 0 ? args.files : ['-'];
    if (files.filter((f) => f === '-').length > 1) usage('stdin (-) can be given once');
    for (const f of files) {
      if (f === '-') continue;
      try {
        accessSync(resolve(cwd, f), constants.R_OK);
      } catch {
        throw new SuggestError('E_SUGGEST_INPUT', `cannot read log file ${f} (check the path and permissions)`);
      }
    }
    const stdin = io.stdin ?? process.stdin;
    const inputs = files.map((f) => {
      const input = openInput(f === '-' ? '-' : resolve(cwd, f), stdin);
      return { ...input, name: f };
    });
    let agg: Awaited<ReturnType<typeof collect>>;
    try {
      agg = await collect(inputs, args.fn);
    } catch (err) {
      throw new SuggestError('E_SUGGEST_INPUT', `reading the logs failed: ${(err as Error).message}`);
    }
    io.stderr(summary(agg));
    let text: string;
    let status = EXIT_OK;
    if (args.against !== undefined) {
      const report = await againstPolicy(agg, resolve(cwd, args.against));
      report.policyFile = args.against;
      text = args.json ? againstJson(report) : renderAgainst(report);
      status = report.denied.length > 0 ? EXIT_FAIL : EXIT_OK;
    } else {
      const opts: Parameters<typeof suggestPolicy>[1] = { budgets: args.budgets };
      if (args.minSiblings !== undefined) opts.minSiblings = args.minSiblings;
      if (args.margin !== undefined) opts.margin = args.margin;
      if (args.mode !== undefined) opts.mode = args.mode;
      text = (await suggestPolicy(agg, opts)).text;
    }
    if (args.output !== undefined) {
      try {
        writeFileAtomic(resolve(cwd, args.output), Buffer.from(text, 'utf8'));
      } catch (err) {
        throw new SuggestError('E_SUGGEST_OUTPUT', `cannot write ${args.output}: ${(err as Error).message}`);
      }
    } else io.stdout(text);
    return status;
  } catch (err) {
    if (err instanceof SuggestError && err.code === 'HELP') {
      io.stdout(SUGGEST_USAGE);
      return EXIT_OK;
    }
    if (err instanceof PolicyError) {
      const ds = err.diagnostics.map((d) => formatDiagnostic(d)).join('\n\n');
      io.stderr(
        `egress-guard suggest: E_SUGGEST_POLICY: the --against policy does not compile (fix it first):\n${ds}\n`,
      );
      return EXIT_USAGE;
    }
    if (err instanceof SuggestError) {
      io.stderr(
        `egress-guard suggest: ${err.code}: ${err.message}\n${err.code === 'E_SUGGEST_USAGE' ? SUGGEST_USAGE : ''}`,
      );
      return EXIT_USAGE;
    }
    throw err;
  }
}
