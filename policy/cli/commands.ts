/**
 * The CLI's commands, one line each: adding a command is adding one line here (its module exports the function).
 * Order = order in `egress-guard --help`.
 */
import type { CommandEntry } from './types.js';

// biome-ignore format: one line per command
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'compile', summary: 'compile policy.yaml to the binary .egp file', load: () => import('./compile.js').then((m) => m.compileCommand) },
  { name: 'validate', summary: 'check a policy and print every error and warning', load: () => import('./validate.js').then((m) => m.validateCommand) },
  { name: 'explain', summary: 'show which rule decides a host or address (exit 0 allow, 1 deny)', load: () => import('./explain.js').then((m) => m.explainCommand) },
  { name: 'suggest', summary: 'turn audit logs into a policy, or diff them --against one (exit 1: denials)', load: () => import('./suggest.js').then((m) => m.suggestCommand) },
  { name: 'init', summary: 'write a commented starter policy.yaml in audit mode', load: () => import('./init.js').then((m) => m.initCommand) },
  { name: 'layer', summary: 'write the layer zips (and a policy layer) for SAM, Terraform, the console', load: () => import('./layer.js').then((m) => m.layerCommand) },
  { name: 'env', summary: 'print the function environment that turns the guard on', load: () => import('./env.js').then((m) => m.envCommand) },
  { name: 'publish-layer', summary: 'publish the layer versions to AWS (SDK v3) and print their ARNs', load: () => import('./publish-layer.js').then((m) => m.publishLayerCommand) },
  { name: 'run', summary: 'run a command under the guard (LD_PRELOAD), passing its exit status through', load: () => import('./run.js').then((m) => m.runCommand) },
];
