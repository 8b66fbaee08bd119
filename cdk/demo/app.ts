/**
 * The demo CDK app: `npm run build && cd cdk/demo && CDK_DISABLE_CLI_TELEMETRY=true npx cdk synth --no-notices`
 * (add `-c mode=enforce` for enforce mode; `-c allowedUrl=… -c deniedUrl=… -c bigUrl=…` choose the examples' targets). Synthesises offline: no lookups, environment-agnostic stacks, and the
 * layer is bundled locally (no Docker). docs/DEPLOY.md walks through deploying it.
 */
import { App } from 'aws-cdk-lib';
import type { EgressGuardMode } from '../egress-guard.js';
import { GuardedFunctionsStack, MeteringDemoStack } from './stacks.js';

const app = new App();
const mode = (app.node.tryGetContext('mode') as string | undefined) ?? 'audit';
if (mode !== 'audit' && mode !== 'enforce') {
  throw new Error(`egress-guard demo: context mode must be audit or enforce, got '${mode}'`);
}
new MeteringDemoStack(app, 'EgressGuardMeteringDemo');
const ctx = (k: string) => app.node.tryGetContext(k) as string | undefined;
new GuardedFunctionsStack(app, 'EgressGuardDemo', {
  mode: mode as EgressGuardMode,
  urls: { allowed: ctx('allowedUrl'), denied: ctx('deniedUrl'), big: ctx('bigUrl') },
});
app.synth();
