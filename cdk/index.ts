/** Public entry point of the CDK constructs: `import { EgressGuard } from 'lambda-egress-guard/cdk'`. */
export {
  EgressGuard,
  type EgressGuardLogLevel,
  type EgressGuardMode,
  type EgressGuardProps,
  LIBRARY_PATH,
  unguardableReason,
  WRAPPER_PATH,
} from './egress-guard.js';
export { EgressGuardLayer, type EgressGuardLayerProps, layerArch } from './layer.js';
export {
  type CompiledPolicy,
  compilePolicyForSynth,
  EgressGuardPolicy,
  EgressGuardPolicyError,
  type EgressGuardPolicyProps,
} from './policy.js';
