/**
 * One CloudWatch Embedded Metric Format line per invoke, written raw to stdout with `process.stdout.write`
 * (never `console.log`, which Lambda's JSON log format would wrap; docs/LAMBDA.md "CloudWatch Embedded Metric Format").
 *
 * Contract: namespace configurable (default `EgressGuard`), one dimension set `[FunctionName]` (never the request id:
 * it would create a metric per invoke), metrics `RxBytes`, `TxBytes` (Bytes), `BudgetExceeded`, `BlockedConnections`
 * (Count). When invokes overlapped (`concurrent`), the byte and blocked figures are environment-wide, not this invoke's:
 * those three metrics are left out and `ConcurrentInvokes` = 1 is emitted instead, so dashboards never sum wrong numbers.
 * `requestId` is a plain property (searchable in Logs Insights, not a dimension).
 */

export interface EmfFigures {
  namespace: string;
  functionName: string;
  requestId: string;
  rxBytes: number;
  txBytes: number;
  budgetExceeded: boolean;
  blocked: number;
  concurrent: boolean;
  timestamp: number;
}

export function emfLine(f: EmfFigures): string {
  const metrics = f.concurrent
    ? [
        { Name: 'BudgetExceeded', Unit: 'Count' },
        { Name: 'ConcurrentInvokes', Unit: 'Count' },
      ]
    : [
        { Name: 'RxBytes', Unit: 'Bytes' },
        { Name: 'TxBytes', Unit: 'Bytes' },
        { Name: 'BudgetExceeded', Unit: 'Count' },
        { Name: 'BlockedConnections', Unit: 'Count' },
      ];
  const values = f.concurrent
    ? { BudgetExceeded: f.budgetExceeded ? 1 : 0, ConcurrentInvokes: 1 }
    : {
        RxBytes: f.rxBytes,
        TxBytes: f.txBytes,
        BudgetExceeded: f.budgetExceeded ? 1 : 0,
        BlockedConnections: f.blocked,
      };
  return `${JSON.stringify({
    _aws: {
      Timestamp: f.timestamp,
      CloudWatchMetrics: [{ Namespace: f.namespace, Dimensions: [['FunctionName']], Metrics: metrics }],
    },
    FunctionName: f.functionName,
    ...values,
    requestId: f.requestId,
  })}\n`;
}
