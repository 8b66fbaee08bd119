/**
 * `EgressGuardDashboard`: template assertions on real synthesis (metrics per function, Logs Insights widgets, opt-in
 * alarms and their action), and the Logs Insights queries checked against real log lines: a real Python process under
 * the real interposer, in audit and in enforce mode, inside a network namespace this test creates, looks up and
 * connects to allowed and denied destinations; each query's filter is applied to the lines it wrote, and every field
 * the query names must be present in the lines it selects (same field names as docs/LOGGING.md).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressGuardDashboard } from '../../cdk/dashboard.js';
import { fieldsOf, matches, occurrences, QUERIES, render, TOP_DENIED, TOP_HOSTS } from '../../cdk/insights.js';
import { needNetns } from '../support/capability.js';
import { type GuardLog, needLibrary, runGuarded, scratchDir } from '../support/guard.js';
import { Netns } from '../support/netns.js';

function functions(stack: Stack) {
  const code = lambda.Code.fromInline('exports.handler = async () => 1;');
  return ['Orders', 'Billing'].map(
    (id) => new lambda.Function(stack, id, { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code }),
  );
}

/** The dashboard body, its tokens resolved to text (`Fn::Join` of strings and `{ Ref }`s). */
function body(t: Template): string {
  const d = Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0];
  const parts = d?.Properties.DashboardBody['Fn::Join'][1] as (string | { Ref?: string })[];
  return parts.map((p) => (typeof p === 'string' ? p : p.Ref ? `{${p.Ref}}` : JSON.stringify(p))).join('');
}

/** The alarms of a template, flattened: metric, namespace, statistic, dimensions, threshold, actions. */
function alarmsOf(t: Template) {
  return Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => {
    const p = a.Properties;
    const stat = p.Metrics[0].MetricStat;
    return {
      metric: stat.Metric.MetricName as string,
      namespace: stat.Metric.Namespace as string,
      dims: stat.Metric.Dimensions as unknown,
      stat: stat.Stat as string,
      threshold: p.Threshold as number,
      op: p.ComparisonOperator as string,
      missing: p.TreatMissingData as string,
      actions: p.AlarmActions as unknown[],
    };
  });
}

describe('EgressGuardDashboard template', () => {
  it('graphs every metric per function and holds both Logs Insights tables over the functions’ log groups', () => {
    const stack = new Stack(new App(), 'Fleet');
    const fns = functions(stack);
    new EgressGuardDashboard(stack, 'Egress', { functions: fns, dashboardName: 'egress' });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::CloudWatch::Alarm', 0); // opt-in
    t.resourceCountIs('AWS::SNS::Topic', 0);
    t.resourceCountIs('Custom::LogRetention', 0); // reading log groups must not add resources
    const text = body(t);
    const widgets = JSON.parse(text.replace(/\{[A-Za-z0-9]+\}/g, 'FN')).widgets as {
      type: string;
      properties: { metrics?: unknown[][]; query?: string; title?: string };
    }[];
    const metrics = widgets.flatMap((w) => w.properties.metrics ?? []).map((m) => JSON.stringify(m));
    for (const [name, stat] of [
      ['BlockedConnections', 'Sum'],
      ['BudgetExceeded', 'Sum'],
      ['RxBytes', 'p50'],
      ['RxBytes', 'p99'],
      ['RxBytes', 'Maximum'],
      ['TxBytes', 'p50'],
      ['TxBytes', 'p99'],
      ['TxBytes', 'Maximum'],
    ]) {
      const found = metrics.filter((m) => m.includes(`"${name}"`) && m.includes(`"stat":"${stat}"`));
      expect(found, `${name} ${stat}`).toHaveLength(fns.length); // one per function
      for (const m of found) expect(m).toContain('"EgressGuard","'); // namespace first
    }
    const logWidgets = widgets.filter((w) => w.type === 'log');
    expect(logWidgets.map((w) => w.properties.title)).toEqual(QUERIES.map((q) => q.title));
    for (const w of logWidgets) {
      expect(w.properties.query).toMatch(/^SOURCE '\/aws\/lambda\/FN' \| SOURCE '\/aws\/lambda\/FN' \| filter /);
    }
    for (const fn of fns) expect(text).toContain(`{${stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction)}}`);
    expect(text).toContain(render(TOP_DENIED).replaceAll('"', '\\"').replaceAll('\n', '\\n'));
  });

  it('creates the alarms asked for, one per function and kind, notifying a TLS-only, KMS-encrypted SNS topic', () => {
    const stack = new Stack(new App(), 'Alarmed');
    const fns = functions(stack);
    const d = new EgressGuardDashboard(stack, 'Egress', { functions: fns, alarms: { blocked: true, budget: true } });
    const t = Template.fromStack(stack);
    expect(d.alarms).toHaveLength(4);
    const alarms = alarmsOf(t);
    for (const metricName of ['BlockedConnections', 'BudgetExceeded']) {
      const these = alarms.filter((x) => x.metric === metricName);
      expect(these, metricName).toHaveLength(2);
      for (const x of these) {
        expect(x).toMatchObject({ namespace: 'EgressGuard', stat: 'Sum', threshold: 0, op: 'GreaterThanThreshold' });
        expect(x.missing).toBe('notBreaching');
        expect(JSON.stringify(x.actions)).toMatch(/^\[\{"Ref":"EgressAlarmTopic/);
      }
      expect(new Set(these.map((x) => JSON.stringify(x.dims))).size).toBe(2); // one per function
    }
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
    t.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' } })]),
      },
    });
  });

  it('notifies a user-supplied action instead (no topic), and takes imported functions', () => {
    const stack = new Stack(new App(), 'Own', { env: { account: '111111111111', region: 'eu-west-1' } });
    const topic = sns.Topic.fromTopicArn(stack, 'Ops', 'arn:aws:sns:eu-west-1:111111111111:ops');
    const imported = lambda.Function.fromFunctionName(stack, 'Legacy', 'legacy-fn');
    new EgressGuardDashboard(stack, 'Egress', {
      functions: [imported],
      alarms: { budget: true },
      alarmActions: [new cwActions.SnsAction(topic)],
    });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::SNS::Topic', 0);
    expect(alarmsOf(t)).toEqual([
      expect.objectContaining({
        metric: 'BudgetExceeded',
        actions: ['arn:aws:sns:eu-west-1:111111111111:ops'],
      }),
    ]);
    expect(JSON.stringify(alarmsOf(t)[0]?.dims)).toContain(':function:legacy-fn'); // the imported function's name
    expect(body(t)).toMatch(/SOURCE '\/aws\/lambda\/\{.*:function:legacy-fn/);
  });
});

const ok = needNetns() && needLibrary();
/** Repeats of one denied connect, more than the rate limiter's default 10 lines per window: a summary line follows. */
const REPEATS = 40;

describe.skipIf(!ok)('the Logs Insights queries, against real guard lines', () => {
  let ns: Netns;
  let lines: GuardLog[] = [];
  beforeAll(async () => {
    ns = Netns.create({
      prefix: 'egdash',
      addresses: ['10.98.0.1/32', '10.98.0.2/32'],
      hosts: { 'api.ok.example': '10.98.0.1', 'upload.bad.example': '10.98.0.2' },
    });
    const dir = scratchDir();
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, 'version: 1\nmode: audit\nallow:\n  - host: api.ok.example\n    ports: [80]\n');
    const script = `
import socket
def attempt(host, port):
    try:
        for *_, addr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET); s.settimeout(1)
            try: s.connect(addr[:2])
            except OSError: pass
            finally: s.close()
    except OSError:
        pass
attempt("api.ok.example", 80)
attempt("upload.bad.example", 80)
attempt("10.98.0.2", 443)
for _ in range(${REPEATS}):
    attempt("10.98.0.2", 443)
`;
    for (const mode of ['audit', 'enforce'] as const) {
      const r = await runGuarded({ cmd: 'python3', args: ['-c', script], policy, mode, ns, logLevel: 'all' });
      expect(r.badLogLines).toEqual([]);
      lines = lines.concat(r.logs);
    }
  }, 120_000);
  afterAll(() => ns?.destroy());

  it('the guard wrote denied and allowed decisions in both modes (the material the queries read)', () => {
    const decisions = lines.filter((l) => l.decision !== undefined);
    expect(new Set(decisions.map((l) => `${l.mode}:${l.decision}`))).toEqual(
      new Set(['audit:allow', 'audit:deny', 'enforce:allow', 'enforce:deny']),
    );
  });

  for (const q of QUERIES) {
    it(`"${q.title}": its filter selects the lines it is about, which carry every field it names`, () => {
      const selected = lines.filter((l) => matches(q, l as Record<string, unknown>));
      const expected = lines.filter((l) =>
        q === TOP_DENIED ? l.decision === 'deny' : q === TOP_HOSTS ? typeof l.host === 'string' : false,
      );
      expect(selected.length).toBeGreaterThan(0);
      expect(selected).toEqual(expected);
      for (const f of fieldsOf(q)) {
        expect(
          selected.some((l) => (l as Record<string, unknown>)[f] !== undefined),
          `${f} in ${JSON.stringify(selected)}`,
        ).toBe(true);
      }
    });
  }

  it('top denied destinations counts attempts, not lines: a rate-limit summary line stands for its suppressed ones', () => {
    for (const mode of ['audit', 'enforce']) {
      const selected = lines.filter(
        (l) =>
          matches(TOP_DENIED, l as Record<string, unknown>) &&
          l.mode === mode &&
          l.event === 'connect' &&
          l.ip === '10.98.0.2' &&
          l.port === 443,
      );
      expect(selected.some((l) => typeof l.suppressed === 'number')).toBe(true);
      expect(selected.length).toBeLessThan(REPEATS + 1);
      expect(selected.reduce((a, l) => a + occurrences(l as Record<string, unknown>), 0)).toBe(REPEATS + 1);
    }
    expect(render(TOP_DENIED)).toContain('stats sum(occurrences) as attempts');
  });

  it('top denied destinations names each denied destination of the run, blocked only in enforce', () => {
    const denied = lines.filter((l) => matches(TOP_DENIED, l as Record<string, unknown>));
    const keys = new Set(denied.map((l) => `${l.mode} ${l.host ?? '-'} ${l.ip ?? '-'} ${l.blocked}`));
    expect([...keys].some((k) => k.startsWith('audit upload.bad.example') && k.endsWith('false'))).toBe(true);
    expect([...keys].some((k) => k.startsWith('enforce upload.bad.example') && k.endsWith('true'))).toBe(true);
    expect([...keys].some((k) => k.includes(' 10.98.0.2 '))).toBe(true);
  });
});
