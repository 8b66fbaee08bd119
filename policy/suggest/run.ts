/**
 * The `suggest` pipeline, as functions the CLI and the tests call:
 * `collect` (inputs → aggregator), `suggestPolicy` (aggregator → policy text, compiled and checked by the real
 * compiler and reference matcher before it is returned), `againstPolicy` (aggregator + policy file → report) and
 * `summary` (the one-paragraph account of what was read, for stderr).
 */
import { compilePolicyFile, compilePolicyText, loadCompiled } from '../index.js';
import { type AgainstReport, checkAgainst, decide } from './against.js';
import { Aggregator } from './aggregate.js';
import { DEFAULT_MARGIN, proposeBudgets } from './budgets.js';
import { type NamedInput, readInput } from './input.js';
import { DEFAULT_MIN_SIBLINGS, planRules, type SuggestedRule } from './plan.js';
import { badCount, n, renderPolicy } from './render.js';

export interface SuggestOptions {
  /** distinct names below a parent (addresses in a /24 or /64) needed for a wildcard (CIDR); < 2 disables */
  minSiblings?: number;
  /** budget = largest per-function p99 × margin */
  margin?: number;
  mode?: 'audit' | 'enforce';
  /** propose no budgets even when invoke summaries are present */
  budgets?: boolean;
}

export class SuggestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function collect(inputs: NamedInput[], defaultFunction?: string): Promise<Aggregator> {
  const agg = new Aggregator(defaultFunction);
  for (const input of inputs) await readInput(input, agg);
  agg.finish();
  return agg;
}

export interface Suggestion {
  text: string;
  rules: SuggestedRule[];
}

export async function suggestPolicy(agg: Aggregator, opts: SuggestOptions = {}): Promise<Suggestion> {
  const minSiblings = opts.minSiblings ?? DEFAULT_MIN_SIBLINGS;
  const margin = opts.margin ?? DEFAULT_MARGIN;
  const rules = planRules(agg, { minSiblings });
  const budgets = opts.budgets === false ? null : proposeBudgets(agg.functionBytes, margin);
  const text = renderPolicy(agg, agg.stats.lines, rules, budgets, { mode: opts.mode ?? 'audit', minSiblings, margin });
  await selfCheck(text, agg);
  return { text, rules };
}

/**
 * Compiles the suggestion with the real compiler and checks, with the reference matcher, that it allows every
 * observed destination. A failure is a bug in `suggest` (E_SUGGEST_SELFCHECK), never silently shipped.
 */
async function selfCheck(text: string, agg: Aggregator): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = (await compilePolicyText(text, 'suggested-policy.yaml')).bytes;
  } catch (err) {
    throw new SuggestError('E_SUGGEST_SELFCHECK', `the suggested policy does not compile: ${(err as Error).message}`);
  }
  const compiled = loadCompiled(bytes);
  for (const d of agg.destinations.values()) {
    if (d.omit === 'builtin' || d.omit === 'numeric-lookup') continue;
    const r = decide(compiled, d);
    if (r.decision !== 'allow') {
      throw new SuggestError(
        'E_SUGGEST_SELFCHECK',
        `the suggested policy denies an observed destination (${d.host ?? d.ip}:${d.port ?? '*'}, rule ${r.rule})`,
      );
    }
  }
}

export async function againstPolicy(agg: Aggregator, policyFile: string): Promise<AgainstReport> {
  const c = await compilePolicyFile(policyFile);
  return checkAgainst(agg, loadCompiled(c.bytes), c.ast);
}

/** What was read and skipped, for stderr. */
export function summary(agg: Aggregator): string {
  const s = agg.stats;
  const lines = [
    `egress-guard suggest: read ${n(s.lines)} lines: ${n(s.guardRecords)} guard records ` +
      `(${n(s.netEvents)} network events, ${n(s.invokes)} invoke summaries, ${n(s.otherGuard)} other), ` +
      `${n(agg.destinations.size)} distinct destinations; ${n(s.foreign)} other lines or events skipped; ` +
      `${n(badCount(s))} bad lines skipped`,
  ];
  for (const [code, b] of [...s.bad].sort()) {
    lines.push(`  ${code}: ${n(b.count)} (first at ${b.where.join(', ')})`);
  }
  return `${lines.join('\n')}\n`;
}
