/**
 * The CloudWatch Logs Insights queries of the fleet dashboard, as data: each query is a filter (equalities on fields
 * of the guard's log lines, docs/LOGGING.md), a `stats` aggregation, the fields it groups by, and a limit. `render`
 * turns one into Logs Insights text. Kept as data so the tests can check every field a query names against real
 * lines the guard wrote, and apply its filter to them (test/cdk/dashboard.test.ts). No CDK import: plain TS.
 */
export interface InsightsQuery {
  readonly title: string;
  /** Every condition must hold: field = value. */
  readonly where: Readonly<Record<string, string | boolean>>;
  /** Fields that must be present (`ispresent`). */
  readonly present: readonly string[];
  /** The aggregate column. */
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
    `stats count(*) as ${q.count} by ${q.by.join(', ')}`,
    `sort ${q.count} desc`,
    `limit ${q.limit}`,
  ].join('\n| ');
}

/** The fields of a log line `q` reads (not Logs Insights' own `@…` fields). */
export function fieldsOf(q: InsightsQuery): string[] {
  return [...new Set([...Object.keys(q.where), ...q.present, ...q.by])].filter((f) => !f.startsWith('@'));
}

/** Whether a parsed log line passes `q`'s filter (the equalities and `ispresent`). */
export function matches(q: InsightsQuery, line: Readonly<Record<string, unknown>>): boolean {
  return Object.entries(q.where).every(([k, v]) => line[k] === v) && q.present.every((f) => line[f] !== undefined);
}
