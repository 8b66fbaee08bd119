/**
 * `egress-guard env --policy <file> [--mode M] [--log-level L] [--runtime R] [--no-metering] [--format F]`: prints the
 * environment variables that turn the guard on for a function, for tools other than CDK (SAM, Terraform, the
 * console). The variables come from `guardEnvironment()` (layer/environment.ts), the function the CDK constructs use:
 * one source. The policy path names the file inside the policy layer `egress-guard layer --policy` writes for the same
 * policy. What the guard covers on that runtime (e.g. Go on `provided.*`) is printed on stderr.
 * Formats: `dotenv` (KEY=value lines, the default), `json` (one object: Terraform `jsondecode(file(…))`),
 * `sam-overrides` (`EgressGuardPolicy=… EgressGuardMode=…` for `sam deploy --parameter-overrides`, matching the
 * parameters of examples/sam/template.yaml). Exit: 0 printed, 1 the policy has errors, 2 usage or I/O error.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  checkGuardOptions,
  type GuardLogLevel,
  type GuardMode,
  guardEnvironment,
  PROXY_COVERAGE,
  runtimeCoverage,
} from '../../layer/environment.js';
import { loadPolicyFile, policyLayerPath } from '../../layer/policy-layer.js';
import { parse, str } from './args.js';
import { reportError } from './report.js';
import { type CliIO, EXIT_OK, UsageError } from './types.js';

export const ENV_USAGE = `usage: egress-guard env --policy <policy.yaml|policy.egp> [options]
  Prints the environment variables that turn the guard on for a function (the same ones the CDK construct sets).
  --policy FILE       the policy (YAML is compiled; a .egp is fully validated); its layer: egress-guard layer --policy
  --mode MODE         audit | enforce | off (default: the mode written in the policy)
  --log-level LEVEL   all | allow | deny | off (default: per mode)
  --runtime ID        the function's runtime, e.g. nodejs22.x, python3.12, java21, provided.al2023 (default: a
                      managed runtime; provided.* gets LD_PRELOAD instead of the exec wrapper)
  --no-metering       no metering agent (EGRESS_GUARD_AGENT=off): no per-invoke bytes, budgets or request ids
  --format F          dotenv (default) | json | sam-overrides
  -o, --output FILE   write there instead of stdout
  exit status: 0 printed, 1 the policy has errors, 2 usage or I/O error
`;

const FORMATS = ['dotenv', 'json', 'sam-overrides'] as const;

function render(format: (typeof FORMATS)[number], env: Record<string, string>): string {
  if (format === 'json') return `${JSON.stringify(env, null, 2)}\n`;
  if (format === 'sam-overrides') {
    const parts = [`EgressGuardPolicy=${env.EGRESS_GUARD_POLICY}`];
    if (env.EGRESS_GUARD_MODE) parts.push(`EgressGuardMode=${env.EGRESS_GUARD_MODE}`);
    return `${parts.join(' ')}\n`;
  }
  return Object.entries(env)
    .map(([k, v]) => `${k}=${/^[A-Za-z0-9_./:@%+,-]*$/.test(v) ? v : `'${v.replaceAll("'", "'\\''")}'`}\n`)
    .join('');
}

export async function envCommand(argv: string[], io: CliIO): Promise<number> {
  try {
    const { values, positionals } = parse(argv, {
      policy: { type: 'string' },
      mode: { type: 'string' },
      'log-level': { type: 'string' },
      runtime: { type: 'string' },
      'no-metering': { type: 'boolean' },
      proxy: { type: 'boolean' },
      format: { type: 'string' },
      output: { type: 'string', short: 'o' },
    });
    if (values.help) {
      io.stdout(ENV_USAGE);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new UsageError('E_USAGE', `unexpected argument '${positionals[0]}'`);
    const policyFile = str(values.policy);
    if (!policyFile) throw new UsageError('E_USAGE', 'give the policy with --policy FILE');
    const format = (str(values.format) ?? 'dotenv') as (typeof FORMATS)[number];
    if (!FORMATS.includes(format)) throw new UsageError('E_USAGE', `--format must be one of ${FORMATS.join(', ')}`);
    const mode = str(values.mode) as GuardMode | undefined;
    const logLevel = str(values['log-level']) as GuardLogLevel | undefined;
    const problems = checkGuardOptions({ mode, logLevel });
    if (problems.length > 0) throw new UsageError('E_USAGE', problems.join('; '));
    const runtime = str(values.runtime) ?? 'managed';
    const policy = loadPolicyFile(policyFile, io.cwd);
    for (const w of policy.warnings) io.stderr(`${w}\n`);
    const env = guardEnvironment({
      runtime,
      policyPath: policyLayerPath(policy.hash),
      mode,
      logLevel,
      metering: values['no-metering'] ? false : undefined,
      proxy: values.proxy === true,
    });
    const note = runtimeCoverage(runtime).note;
    if (note && runtime !== 'managed') io.stderr(`egress-guard env: note: ${note.text}\n`);
    if (values.proxy) io.stderr(`egress-guard env: note: ${PROXY_COVERAGE}\n`);
    const text = render(format, env);
    const out = str(values.output);
    if (out) writeFileSync(resolve(io.cwd, out), text);
    else io.stdout(text);
    return EXIT_OK;
  } catch (err) {
    return reportError(io, 'env', ENV_USAGE, err);
  }
}
