/**
 * examples/sam/template.yaml: valid for cfn-lint (from PyPI, with the SAM transform), deployable with exactly the
 * commands its header documents (run here through the real CLI: the files its ContentUris name exist afterwards), and
 * its functions' variables are, parameter by parameter, what `guardEnvironment()` (the CDK construct's and
 * `egress-guard env`'s one function) computes for each runtime — so the example cannot drift from the product.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDocument, type Scalar, type SchemaOptions, YAMLMap } from 'yaml';
import { buildLayers, prebuild, repoRoot } from '../../layer/build/build-layer.js';
import { guardEnvironment } from '../../layer/environment.js';
import { need, runs } from '../support/capability.js';
import { documentedCommands, runDocumented, scratchCopy } from './documented.js';

const dir = join(repoRoot(), 'examples', 'sam');
const TEMPLATE = join(dir, 'template.yaml');
// The cfn-lint console script's entry point, run by python3 (wherever pip put the script).
const CFN_LINT = ['-c', 'import sys; from cfnlint.runner import main; sys.argv[0] = "cfn-lint"; sys.exit(main())'];
const ok = need(
  'cfn-lint',
  runs('python3', [...CFN_LINT, '--version']),
  'python3 cannot import cfnlint (pip install cfn-lint)',
);

/** CloudFormation's short tags (!Ref, !Sub …) as `{ Ref: x }` / `{ 'Fn::Sub': x }` objects. */
const cfnTags: SchemaOptions['customTags'] = ['Ref', 'Sub', 'GetAtt', 'Join', 'If', 'Select'].map((name) => ({
  tag: `!${name}`,
  resolve: (value: string | YAMLMap | Scalar) => ({
    [name === 'Ref' ? 'Ref' : `Fn::${name}`]: value instanceof YAMLMap ? value.toJSON() : value,
  }),
}));

interface SamFunction {
  Type: string;
  Properties: {
    Runtime: string;
    Architectures: string[];
    Layers: { Ref: string }[];
    Environment: { Variables: Record<string, string | { Ref: string }> };
  };
}

function template(path: string) {
  return parseDocument(readFileSync(path, 'utf8'), { customTags: cfnTags }).toJS() as {
    Parameters: Record<string, { AllowedPattern?: string; AllowedValues?: string[] }>;
    Resources: Record<
      string,
      SamFunction & { Properties: { ContentUri?: string; CompatibleArchitectures?: string[] } }
    >;
  };
}

beforeAll(async () => {
  await prebuild();
  buildLayers();
}, 300_000);

describe.skipIf(!ok)('the AWS SAM example', () => {
  it('passes cfn-lint, and cfn-lint fails a broken copy (the check is real)', () => {
    const lint = spawnSync('python3', [...CFN_LINT, TEMPLATE], { encoding: 'utf8' });
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    const broken = join(mkdtempSync(join(tmpdir(), 'eg-sam-')), 'template.yaml');
    writeFileSync(broken, readFileSync(TEMPLATE, 'utf8').replace('Runtime: nodejs22.x', 'Runtime: nodejs99.x'));
    const bad = spawnSync('python3', [...CFN_LINT, broken], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toContain('nodejs99.x');
  });

  it('its documented commands write every ContentUri and the parameter overrides the template accepts', async () => {
    expect(documentedCommands(TEMPLATE).map((a) => a[0])).toEqual(['layer', 'env']);
    const work = await scratchCopy(dir);
    const [, overrides] = await runDocumented(join(work, 'template.yaml'), work);
    const t = template(join(work, 'template.yaml'));
    const layers = Object.values(t.Resources).filter((r) => r.Type === 'AWS::Serverless::LayerVersion');
    expect(layers).toHaveLength(3);
    for (const l of layers) expect(existsSync(join(work, l.Properties.ContentUri as string))).toBe(true);
    const params = Object.fromEntries(
      (overrides as string)
        .trim()
        .split(' ')
        .map((kv) => kv.split('=') as [string, string]),
    );
    expect(Object.keys(params).sort()).toEqual(Object.keys(t.Parameters).sort());
    expect(params.EgressGuardPolicy).toMatch(new RegExp(t.Parameters.EgressGuardPolicy?.AllowedPattern as string));
    expect(t.Parameters.EgressGuardMode?.AllowedValues).toContain(params.EgressGuardMode);
  });

  it('gives each function the layer of its architecture and exactly guardEnvironment() for its runtime', async () => {
    const work = await scratchCopy(dir);
    const [, overrides] = await runDocumented(join(work, 'template.yaml'), work);
    const params: Record<string, string> = Object.fromEntries(
      (overrides as string)
        .trim()
        .split(' ')
        .map((kv) => kv.split('=')),
    );
    const t = template(join(work, 'template.yaml'));
    const fns = Object.values(t.Resources).filter((r) => r.Type === 'AWS::Serverless::Function');
    expect(fns.map((f) => f.Properties.Runtime).sort()).toEqual(['nodejs22.x', 'provided.al2023']);
    for (const f of fns) {
      const p = f.Properties;
      const guardLayer = t.Resources[p.Layers[0]?.Ref as string];
      expect(guardLayer?.Properties.CompatibleArchitectures, p.Runtime).toEqual(p.Architectures);
      const vars = Object.fromEntries(
        Object.entries(p.Environment.Variables).map(([k, v]) => [k, typeof v === 'string' ? v : params[v.Ref]]),
      );
      expect(vars, p.Runtime).toEqual(
        guardEnvironment({
          runtime: p.Runtime,
          policyPath: params.EgressGuardPolicy as string,
          mode: params.EgressGuardMode as 'audit',
        }),
      );
    }
  });
});
