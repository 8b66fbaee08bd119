/**
 * cdk-nag's AwsSolutions pack on the demo CDK app (both stacks, audit and enforce): synthesis with the pack as a
 * validation plugin must pass — every finding fixed, or acknowledged in cdk/demo/stacks.ts with its reason. The
 * same run on a stack with a known violation fails, so the check is real.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuardedFunctionsStack, MeteringDemoStack } from '../../cdk/demo/stacks.js';
import { buildLayers, prebuild } from '../../layer/build/build-layer.js';

const out = mkdtempSync(join(tmpdir(), 'eg-nag-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
beforeAll(async () => {
  delete process.env.CDK_VALIDATION; // validation plugins run only when validation is on
  await prebuild();
  buildLayers(); // the demo app deploys the prebuilt zips
}, 300_000);

/** Synthesises `app` with the AwsSolutions pack; returns the validation failure, if any. */
function nag(app: App): string | undefined {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  try {
    app.synth();
    return undefined;
  } catch (e) {
    const report = /found in: (\S+)/.exec(String(e))?.[1];
    return report ? readFileSync(report, 'utf8') : String(e);
  }
}

describe('cdk-nag AwsSolutions on the demo app', () => {
  for (const mode of ['audit', 'enforce'] as const) {
    it(`passes in ${mode} mode (every finding fixed or acknowledged with a reason)`, () => {
      const app = new App({ outdir: join(out, mode) });
      new MeteringDemoStack(app, 'EgressGuardMeteringDemo');
      new GuardedFunctionsStack(app, 'EgressGuardDemo', { mode });
      expect(nag(app)).toBeUndefined();
    }, 120_000);
  }

  it('fails a stack with a violation (an SNS topic that accepts plain HTTP)', () => {
    const app = new App({ outdir: join(out, 'bad') });
    const stack = new Stack(app, 'Bad');
    new sns.Topic(stack, 'Open');
    const report = nag(app);
    expect(report).toContain('AwsSolutions-SNS3');
  }, 120_000);
});
