/**
 * The demo CDK app's two stacks, the counterparts of the AWS sample's (sample-lambda-network-monitor):
 * - `MeteringDemoStack`: its metering demo — a function that downloads a large file, measured per invoke (bytes,
 *   EMF metrics, budget breach), with a policy that allows every destination: metering without blocking. arm64,
 *   so the app exercises both layer architectures.
 * - `GuardedFunctionsStack`: the example Node and Python functions (examples/functions) guarded by
 *   examples/policy.yaml, in `audit` or `enforce` mode (prop `mode`; the app reads it from context `-c mode=…`),
 *   with the fleet dashboard and its alarms (`EgressGuardDashboard`).
 */
import { join } from 'node:path';
import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { repoRoot } from '../../layer/build/build-layer.js';
import { EgressGuardDashboard } from '../dashboard.js';
import { EgressGuard, type EgressGuardMode } from '../egress-guard.js';

const examples = () => join(repoRoot(), 'examples');

/**
 * The demo's answers to cdk-nag's AwsSolutions pack (test/cdk/nag.test.ts runs it on this app): every other rule
 * passes; these findings are acknowledged, each with its reason.
 */
function acknowledgeNagFindings(stack: Stack): void {
  Validations.of(stack).acknowledge({
    id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason:
      'The example functions only write their logs: AWSLambdaBasicExecutionRole is the AWS-maintained minimum for that (logs:CreateLogGroup, CreateLogStream, PutLogEvents), and an inline copy would drift from it.',
  });
}

export class MeteringDemoStack extends Stack {
  public readonly fn: lambda.Function;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, {
      description: 'egress-guard metering demo: per-invoke bytes and budgets, nothing blocked',
      ...props,
    });
    this.fn = new lambda.Function(this, 'Downloader', {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(join(examples(), 'functions', 'node')),
      timeout: Duration.seconds(60),
      memorySize: 512,
    });
    EgressGuard.guard(this.fn, { policy: join(repoRoot(), 'cdk', 'demo', 'metering-policy.yaml'), mode: 'audit' });
    acknowledgeNagFindings(this);
    new CfnOutput(this, 'DownloaderName', { value: this.fn.functionName });
  }
}

export interface GuardedFunctionsStackProps extends StackProps {
  /**
   * audit logs what would be blocked; enforce blocks it.
   * @default 'audit'
   */
  readonly mode?: EgressGuardMode;
  /**
   * The policy guarding both functions.
   * @default examples/policy.yaml
   */
  readonly policy?: string;
  /**
   * Targets of the example functions' three calls (ALLOWED_URL, DENIED_URL, BIG_URL).
   * @default - the examples' own defaults (see examples/functions/node/index.mjs)
   */
  readonly urls?: { readonly allowed?: string; readonly denied?: string; readonly big?: string };
}

export class GuardedFunctionsStack extends Stack {
  public readonly nodeFn: lambda.Function;
  public readonly pythonFn: lambda.Function;
  public readonly dashboard: EgressGuardDashboard;

  constructor(scope: Construct, id: string, props: GuardedFunctionsStackProps = {}) {
    const mode = props.mode ?? 'audit';
    super(scope, id, { description: `egress-guard demo: example functions guarded in ${mode} mode`, ...props });
    this.nodeFn = new lambda.Function(this, 'NodeExample', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(join(examples(), 'functions', 'node')),
      timeout: Duration.seconds(60),
      memorySize: 512,
    });
    this.pythonFn = new lambda.Function(this, 'PythonExample', {
      runtime: lambda.Runtime.PYTHON_3_14, // the newest Python runtime Lambda offers (docs/LAMBDA.md "Runtimes and their resolvers")
      handler: 'app.handler',
      code: lambda.Code.fromAsset(join(examples(), 'functions', 'python')),
      timeout: Duration.seconds(60),
      memorySize: 512,
    });
    Validations.of(this.pythonFn).acknowledge({
      id: 'AwsSolutions::AwsSolutions-L1',
      reason:
        "python3.14 is the newest Python runtime Lambda documents; cdk-nag takes the newest from aws-cdk-lib's Runtime class, which also lists python3.15, a runtime Lambda does not document.",
    });
    for (const fn of [this.nodeFn, this.pythonFn]) {
      if (props.urls?.allowed) fn.addEnvironment('ALLOWED_URL', props.urls.allowed);
      if (props.urls?.denied) fn.addEnvironment('DENIED_URL', props.urls.denied);
      if (props.urls?.big) fn.addEnvironment('BIG_URL', props.urls.big);
    }
    // One line guards every function of the stack (an Aspect).
    EgressGuard.applyTo(this, { policy: props.policy ?? join(examples(), 'policy.yaml'), mode });
    // The fleet view: metrics and Logs Insights tables; alarms on blocked connections and budget breaches.
    this.dashboard = new EgressGuardDashboard(this, 'Egress', {
      functions: [this.nodeFn, this.pythonFn],
      alarms: { blocked: true, budget: true },
    });
    acknowledgeNagFindings(this);
    new CfnOutput(this, 'NodeFunctionName', { value: this.nodeFn.functionName });
    new CfnOutput(this, 'PythonFunctionName', { value: this.pythonFn.functionName });
    new CfnOutput(this, 'AlarmTopic', { value: this.dashboard.alarmTopic?.topicArn ?? '' });
  }
}
