/**
 * Wildcard safety (policy/suggest/wildcard.ts): a public suffix (ICANN or private, from tldts' Public Suffix List) or
 * a multi-tenant provider suffix is never widened into `*.suffix`, whatever was observed; the sibling threshold
 * holds; every observed name ends up covered by exactly one group.
 */
import fc from 'fast-check';
import { parse } from 'tldts';
import { describe, expect, it } from 'vitest';
import { collapseNames, wildcardUnsafe } from '../../policy/suggest/wildcard.js';
import { connect, ruleHeads, suggest } from './helpers.js';

const PUBLIC_OR_PROVIDER = [
  'com',
  'net',
  'io',
  'co.uk',
  'com.au',
  'amazonaws.com',
  'amazonaws.com.cn',
  'us-east-1.amazonaws.com',
  's3.amazonaws.com',
  's3.us-east-1.amazonaws.com',
  'execute-api.eu-west-1.amazonaws.com',
  'lambda-url.us-east-1.on.aws',
  'api.aws',
  'on.aws',
  'cloudfront.net',
  'github.io',
  'herokuapp.com',
  'blob.core.windows.net',
  'windows.net',
  'googleapis.com',
  'appspot.com',
  'ngrok.io',
  'workers.dev',
  'vercel.app',
];

describe('wildcardUnsafe', () => {
  it.each(PUBLIC_OR_PROVIDER)('refuses *.%s', (s) => {
    expect(wildcardUnsafe(s)).not.toBeNull();
  });

  it.each([
    ['localhost', 'ip-or-local'],
    ['internal', 'public-suffix'],
    ['us-east-1.amazonaws.com', 'public-suffix'],
    ['amazonaws.com', 'provider-suffix'],
    ['dualstack.amazonaws.com', 'provider-suffix'],
    ['eu-west-3.amazonaws.com', 'provider-suffix'], // not in the PSL: caught by the region rule
    ['api.aws', 'provider-suffix'],
  ])('%s → %s', (s, code) => {
    expect(wildcardUnsafe(s)).toBe(code);
  });

  it.each(['example.com', 'cdn.example.com', 'example.co.uk', 'sqs.us-east-1.amazonaws.com', 'svc.cluster.local'])(
    'allows *.%s',
    (s) => {
      expect(wildcardUnsafe(s)).toBeNull();
    },
  );
});

describe('collapseNames', () => {
  it('needs minSiblings distinct labels right below the parent', () => {
    expect(collapseNames(['a.example.com', 'b.example.com'], 3).map((g) => g.kind)).toEqual(['exact', 'exact']);
    const three = collapseNames(['a.example.com', 'b.example.com', 'x.c.example.com'], 3);
    expect(three).toEqual([
      { kind: 'wildcard', name: 'example.com', members: ['a.example.com', 'b.example.com', 'x.c.example.com'] },
    ]);
    expect(collapseNames(['a.example.com', 'b.example.com', 'c.example.com'], 0).every((g) => g.kind === 'exact')).toBe(
      true,
    );
  });

  it('keeps the parent itself exact (*.x never matches x) and takes the widest safe parent', () => {
    const g = collapseNames(['example.com', 'a.eu.example.com', 'b.eu.example.com', 'c.eu.example.com'], 3);
    expect(g).toEqual([
      { kind: 'exact', name: 'example.com', members: ['example.com'] },
      {
        kind: 'wildcard',
        name: 'eu.example.com',
        members: ['a.eu.example.com', 'b.eu.example.com', 'c.eu.example.com'],
      },
    ]);
  });

  it('property: never a wildcard on a public or provider suffix, and every name covered exactly once', () => {
    const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,6}[a-z0-9]$/);
    const name = fc
      .tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.constantFrom(...PUBLIC_OR_PROVIDER, 'example.com'))
      .map(([ls, s]) => `${ls.join('.')}.${s}`);
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 40 }), fc.integer({ min: 2, max: 4 }), (names, k) => {
        const groups = collapseNames(names, k);
        for (const g of groups) {
          if (g.kind !== 'wildcard') continue;
          expect(wildcardUnsafe(g.name)).toBeNull();
          expect(PUBLIC_OR_PROVIDER).not.toContain(g.name);
          const p = parse(g.name, { allowPrivateDomains: true });
          expect(p.publicSuffix).not.toBe(g.name);
          expect(
            new Set(
              g.members.map((m) =>
                m
                  .slice(0, -g.name.length - 1)
                  .split('.')
                  .pop(),
              ),
            ).size,
          ).toBeGreaterThanOrEqual(k);
        }
        for (const n of names) {
          const covering = groups.filter((g) => (g.kind === 'exact' ? g.name === n : n.endsWith(`.${g.name}`)));
          expect(covering.length).toBe(1);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('through the CLI', () => {
  it('many buckets, API endpoints and regional services stay exact', async () => {
    const lines = [
      ...['a', 'b', 'c', 'd', 'e'].map((b) => connect(`${b}-bucket.s3.us-east-1.amazonaws.com`, '52.216.0.1', 443)),
      ...['sts', 'iam', 'route53', 'cloudfront'].map((s) => connect(`${s}.amazonaws.com`, '52.94.0.1', 443)),
      ...['sqs', 'sns', 'dynamodb', 'kms'].map((s) => connect(`${s}.us-east-1.amazonaws.com`, '52.94.0.2', 443)),
      ...['x1', 'x2', 'x3'].map((s) => connect(`${s}.execute-api.us-east-1.amazonaws.com`, '52.94.0.3', 443)),
      ...['d1', 'd2', 'd3'].map((s) => connect(`${s}.cloudfront.net`, '52.94.0.4', 443)),
      ...['p', 'q', 'r'].map((s) => connect(`${s}.co.uk`, '192.0.2.1', 443)),
    ];
    const r = await suggest([], { stdin: lines.join('\n') });
    expect(r.code).toBe(0);
    const heads = ruleHeads(r.stdout);
    expect(heads.filter((h) => h.includes('*'))).toEqual([]);
    expect(heads.length).toBe(lines.length);
  });

  it('--min-siblings changes the threshold', async () => {
    const lines = ['a', 'b'].map((s) => connect(`${s}.example.com`, '192.0.2.1', 443)).join('\n');
    expect(ruleHeads((await suggest([], { stdin: lines })).stdout)).toEqual([
      'host: a.example.com',
      'host: b.example.com',
    ]);
    expect(ruleHeads((await suggest(['--min-siblings', '2'], { stdin: lines })).stdout)).toEqual([
      'host: "*.example.com"',
    ]);
  });
});
