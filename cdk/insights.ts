/**
 * The CloudWatch Logs Insights queries of the fleet dashboard, as data: each query is a filter (equalities on fields
 * of the guard's log lines, docs/LOGGING.md), a `stats` aggregation, the fields it groups by, and a limit. The
 * aggregation counts occurrences, not lines: a rate-limit summary line stands for its `suppressed` occurrences, any
 * other line for one (docs/LOGGING.md "Rate limit"), so it is `sum(coalesce(suppressed, 1))`. `render`
 * turns one into Logs Insights text. Kept as data so the tests can check every field a query names against real
 * lines the guard wrote, and apply its filter to them (test/cdk/dashboard.test.ts). No CDK import: plain TS.
 */
export interface InsightsQuery {
  readonly title: string;
  /** Every condition must hold: field = value. */
  readonly where: Readonly<Record<string, string | boolean>>;
  /** Fields that must be present (`ispresent`). */
  readonly present: readonly string[];
  /** The aggregate column: the number of occurrences the selected lines stand for. */
  readonly count: string;
  /** Group-by fields (`@log` is the log group, i.e. the function). */
  readonly by: readonly string[];
  readonly limit: number;
}

export const TOP_DENIED: InsightsQuery = {
  title: 'Top denied destinations (audit: would be blocked; enforce: blocked)',
  where: { name: 'egress-guard', decision: 'deny' },
  present: [],
  count: 'attempts',
  by: ['@log', 'event', 'host', 'ip', 'port', 'rule', 'mode', 'blocked'],
  limit: 50,
};

export const TOP_HOSTS: InsightsQuery = {
  title: 'Top hosts per function (every decision that names a host)',
  where: { name: 'egress-guard' },
  present: ['host'],
  count: 'events',
  by: ['@log', 'host', 'decision'],
  limit: 100,
};

export const QUERIES: readonly InsightsQuery[] = [TOP_DENIED, TOP_HOSTS];

function literal(v: string | boolean): string {
  return typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

/** Logs Insights text of `q`. */
export function render(q: InsightsQuery): string {
  const conditions = [
    ...Object.entries(q.where).map(([k, v]) => `${k} = ${literal(v)}`),
    ...q.present.map((f) => `ispresent(${f})`),
  ];
  return [
    `filter ${conditions.join(' and ')}`,
    `fields coalesce(${SUPPRESSED}, 1) as occurrences`,
    `stats sum(occurrences) as ${q.count} by ${q.by.join(', ')}`,
    `sort ${q.count} desc`,
    `limit ${q.limit}`,
  ].join('\n| ');
}

/** The field of a rate-limit summary line that holds the occurrences it stands for (docs/LOGGING.md). */
export const SUPPRESSED = 'suppressed';

/** The occurrences one log line stands for, as the queries' aggregate counts it. */
export function occurrences(line: Readonly<Record<string, unknown>>): number {
  const n = line[SUPPRESSED];
  return typeof n === 'number' ? n : 1;
}

/** The fields of a log line `q` reads (not Logs Insights' own `@…` fields). */
export function fieldsOf(q: InsightsQuery): string[] {
  return [...new Set([...Object.keys(q.where), ...q.present, ...q.by, SUPPRESSED])].filter((f) => !f.startsWith('@'));
}

/** Whether a parsed log line passes `q`'s filter (the equalities and `ispresent`). */
export function matches(q: InsightsQuery, line: Readonly<Record<string, unknown>>): boolean {
  return Object.entries(q.where).every(([k, v]) => line[k] === v) && q.present.every((f) => line[f] !== undefined);
}
