/**
 * examples/terraform/main.tf, parsed by a real HCL parser (python-hcl2 from PyPI; the Terraform AWS provider cannot be
 * downloaded here, so its schema is not available): every resource type and attribute it relies on is one the AWS
 * provider documents for `aws_lambda_layer_version` / `aws_lambda_function`; each function takes the guard layer of
 * its architecture and the policy layer; the commands its header documents (run through the real CLI) write every
 * file it reads; and the environment each function gets is what `guardEnvironment()` computes for its runtime.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildLayers, prebuild, repoRoot } from '../../layer/build/build-layer.js';
import { guardEnvironment } from '../../layer/environment.js';
import { need } from '../support/capability.js';
import { runDocumented, scratchCopy } from './documented.js';

const dir = join(repoRoot(), 'examples', 'terraform');
const here = join(repoRoot(), 'test', 'deploy');
const ok = need(
  'python-hcl2',
  spawnSync('python3', ['-c', 'import hcl2'], { stdio: 'ignore' }).status === 0,
  '`python3 -c "import hcl2"` failed (pip install python-hcl2)',
);

/** Arguments and blocks of the AWS provider's resources this example uses (the provider's documented arguments). */
const DOCUMENTED: Record<string, readonly string[]> = {
  aws_lambda_layer_version: [
    'layer_name',
    'filename',
    's3_bucket',
    's3_key',
    's3_object_version',
    'source_code_hash',
    'compatible_architectures',
    'compatible_runtimes',
    'description',
    'license_info',
    'skip_destroy',
  ],
  aws_lambda_function: [
    'function_name',
    'role',
    'runtime',
    'architectures',
    'handler',
    'filename',
    'source_code_hash',
    'timeout',
    'memory_size',
    'layers',
    'environment',
    'description',
    'publish',
    'tags',
  ],
};
const REQUIRED: Record<string, readonly string[]> = {
  aws_lambda_layer_version: ['layer_name'],
  aws_lambda_function: ['function_name', 'role'],
};

type Attrs = Record<string, unknown>;
interface Tf {
  locals: Record<string, string>[];
  resource: Record<string, Record<string, Attrs>>[];
}

function parse(file: string): Tf {
  const r = spawnSync('python3', [join(here, 'hcl_to_json.py'), file], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Tf;
}

function resources(tf: Tf, type: string): [string, Attrs][] {
  return tf.resource.flatMap((r) => Object.entries(r[type] ?? {}));
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: a Terraform interpolation, not a JS one
const PATH_MODULE = '${path.module}';
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Terraform interpolation, not a JS one
const GUARD_DIR = '${local.guard_dir}';

/** `${path.module}/x` and `${local.guard_dir}/x` as paths in `work`. */
function pathIn(work: string, tf: Tf, expr: string): string {
  const locals = Object.assign({}, ...tf.locals) as Record<string, string>;
  const guardDir = (locals.guard_dir as string).replace(PATH_MODULE, work);
  return expr.replace(GUARD_DIR, guardDir).replace(PATH_MODULE, work);
}

beforeAll(async () => {
  await prebuild();
  buildLayers();
}, 300_000);

describe.skipIf(!ok)('the Terraform example', () => {
  it('uses only resource types and arguments the AWS provider documents, and the required ones', () => {
    const tf = parse(join(dir, 'main.tf'));
    const types = tf.resource.flatMap((r) => Object.keys(r));
    expect(new Set(types)).toEqual(new Set(Object.keys(DOCUMENTED)));
    for (const type of types) {
      for (const [name, attrs] of resources(tf, type)) {
        for (const a of Object.keys(attrs)) expect(DOCUMENTED[type], `${type}.${name}.${a}`).toContain(a);
        for (const a of REQUIRED[type] ?? []) expect(Object.keys(attrs), `${type}.${name}`).toContain(a);
      }
    }
  });

  it('gives each function the guard layer of its architecture, then the policy layer', () => {
    const tf = parse(join(dir, 'main.tf'));
    const layers = Object.fromEntries(resources(tf, 'aws_lambda_layer_version'));
    const fns = resources(tf, 'aws_lambda_function');
    expect(fns.map(([, f]) => f.runtime).sort()).toEqual(['nodejs22.x', 'provided.al2023']);
    for (const [name, f] of fns) {
      const refs = (f.layers as string[]).map((l) => /^\$\{aws_lambda_layer_version\.(\w+)\.arn\}$/.exec(l)?.[1]);
      expect(refs, name).toHaveLength(2);
      expect(layers[refs[0] as string]?.compatible_architectures, name).toEqual(f.architectures);
      expect(layers[refs[1] as string]?.filename, name).toMatch(/egress-guard-policy\.zip"?$/);
    }
  });

  it('its documented commands write every file it reads; each function gets guardEnvironment() for its runtime', async () => {
    const work = await scratchCopy(dir);
    await runDocumented(join(work, 'main.tf'), work);
    const tf = parse(join(work, 'main.tf'));
    expect(resources(tf, 'aws_lambda_layer_version').map(([name]) => name)).toEqual([
      'egress_guard_x86_64',
      'egress_guard_arm64',
      'egress_guard_policy',
    ]);
    expect(resources(tf, 'aws_lambda_function').map(([name]) => name)).toEqual(['node', 'rust']);
    for (const [name, l] of resources(tf, 'aws_lambda_layer_version')) {
      expect(existsSync(pathIn(work, tf, l.filename as string)), name).toBe(true);
    }
    const locals = Object.assign({}, ...tf.locals) as Record<string, string>;
    const policyZip = readFileSync(pathIn(work, tf, `${GUARD_DIR}/egress-guard-policy.zip`));
    for (const [name, f] of resources(tf, 'aws_lambda_function')) {
      const variables = (f.environment as { variables: string }[])[0]?.variables as string;
      const local = /^\$\{merge\(local\.(\w+), \{\}\)\}$/.exec(variables)?.[1] as string;
      const file = /file\("([^"]+)"\)/.exec(locals[local] as string)?.[1] as string;
      const env = JSON.parse(readFileSync(pathIn(work, tf, file), 'utf8')) as Record<string, string>;
      const policyPath = env.EGRESS_GUARD_POLICY as string;
      expect(policyZip.includes(Buffer.from(policyPath.replace('/opt/', ''))), name).toBe(true);
      expect(env, name).toEqual(guardEnvironment({ runtime: f.runtime as string, policyPath, mode: 'audit' }));
    }
  });
});
