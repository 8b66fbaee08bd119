/** Public entry point of the CDK constructs: `import { EgressGuard } from 'lambda-egress-guard/cdk'`. */

export {
  type EgressGuardAlarmOptions,
  EgressGuardDashboard,
  type EgressGuardDashboardProps,
  egressGuardMetrics,
} from './dashboard.js';
export {
  EgressGuard,
  type EgressGuardLogLevel,
  type EgressGuardMode,
  type EgressGuardProps,
  LIBRARY_PATH,
  unguardableReason,
  WRAPPER_PATH,
} from './egress-guard.js';
export { type InsightsQuery, QUERIES, render as renderInsightsQuery, TOP_DENIED, TOP_HOSTS } from './insights.js';
export { EgressGuardLayer, type EgressGuardLayerProps, EgressGuardProxyLayer, layerArch } from './layer.js';
export {
  type CompiledPolicy,
  compilePolicyForSynth,
  EgressGuardPolicy,
  EgressGuardPolicyError,
  type EgressGuardPolicyProps,
} from './policy.js';
