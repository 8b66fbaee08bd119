/**
 * `egress-guard init [-o policy.yaml] [--region R] [--force]`: writes a commented starter policy in audit mode (logs
 * every destination, blocks nothing), the first step of the audit → suggest → enforce path (docs/DEPLOY.md). The
 * starter compiles cleanly (a test compiles it); `--region` fills the AWS endpoint examples. An existing file is
 * never overwritten without `--force`. Exit: 0 written, 2 usage or I/O error (e.g. the file exists).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse, str } from './args.js';
import { reportError } from './report.js';
import { type CliIO, EXIT_OK, UsageError } from './types.js';

export const INIT_USAGE = `usage: egress-guard init [-o policy.yaml] [--region REGION] [--force]
  Writes a commented starter policy in audit mode (nothing is blocked; every destination is logged).
  -o, --output FILE   where to write (default: policy.yaml)
  --region REGION     the AWS region of the endpoint examples (default: us-east-1)
  --force             overwrite an existing file
  exit status: 0 written, 2 usage or I/O error
`;

export function starterPolicy(region: string): string {
  return `# egress-guard policy (docs/POLICY.md is the full reference).
#
# Start in audit mode: every destination your function reaches is logged, nothing is blocked. After a few days of
# real traffic, turn the logs into rules:   npx egress-guard suggest <exported log lines> --against policy.yaml
# then switch \`mode\` to enforce. Check a destination at any time:   npx egress-guard explain policy.yaml host:443
version: 1

# audit: log what would be blocked; enforce: block what no allow rule allows.
# The function's EGRESS_GUARD_MODE variable overrides this without a new deployment (e.g. to back out of enforce).
mode: audit

# 127.0.0.0/8, ::1 and localhost. The Lambda Runtime API and X-Ray are always allowed (they are loopback/link-local).
loopback: allow

allow:
  # Name the AWS services and the region you use ("*.amazonaws.com" would allow every AWS endpoint of every account,
  # including other people's S3 buckets). Uncomment and edit:
  # - name: s3
  #   host: "*.s3.${region}.amazonaws.com"   # virtual-hosted buckets: my-bucket.s3.${region}.amazonaws.com
  #   ports: [443]
  # - name: dynamodb
  #   host: dynamodb.${region}.amazonaws.com
  #   ports: [443]
  # - "secretsmanager.${region}.amazonaws.com:443"   # the short form: host[:port]
  #
  # A third-party API, HTTPS only:
  # - name: payments-api
  #   host: api.stripe.com
  #   ports: [443]
  #
  # A database in your VPC:
  # - name: vpc-postgres
  #   cidr: 10.0.0.0/16
  #   ports: [5432]

deny:
  # Deny always wins over allow. Lambda has no instance metadata service: anything asking for it is suspicious.
  - name: instance-metadata
    cidr: 169.254.169.254/32
  # Threat feeds: one name per line, "*.x" wildcards allowed, a million names is fine.
  # - name: threat-feed
  #   hosts_file: threat-feed.txt

# Per-invocation byte budgets (enforce mode fails an invocation that goes over; audit only logs it).
# Units: B, KB/MB/GB (powers of 1000), KiB/MiB/GiB (powers of 1024).
# budgets:
#   perInvoke:
#     rxBytes: 50MiB
#     txBytes: 5MiB
`;
}

export async function initCommand(argv: string[], io: CliIO): Promise<number> {
  try {
    const { values, positionals } = parse(argv, {
      output: { type: 'string', short: 'o' },
      region: { type: 'string' },
      force: { type: 'boolean' },
    });
    if (values.help) {
      io.stdout(INIT_USAGE);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new UsageError('E_USAGE', `unexpected argument '${positionals[0]}'`);
    const region = str(values.region) ?? 'us-east-1';
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
      throw new UsageError('E_USAGE', `--region '${region}' is not an AWS region name (e.g. eu-west-1)`);
    }
    const out = str(values.output) ?? 'policy.yaml';
    const path = resolve(io.cwd, out);
    if (existsSync(path) && !values.force) {
      throw new UsageError('E_EXISTS', `${out} exists: choose another file with -o, or overwrite it with --force`);
    }
    writeFileSync(path, starterPolicy(region));
    io.stdout(`wrote ${out} (audit mode). Next: npx egress-guard validate ${out}\n`);
    return EXIT_OK;
  } catch (err) {
    return reportError(io, 'init', INIT_USAGE, err);
  }
}
