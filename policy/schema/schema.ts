/**
 * JSON Schema (draft-07, ajv strict mode) of a policy file: `JSONSchemaType<PolicyDoc>` makes the compiler check it
 * against the TS types in `./types.ts`. No `pattern`s here (no ReDoS surface, better messages): string contents are
 * checked by `../semantic/`. `nullable: true` is what `JSONSchemaType` requires for optional keys; an explicit
 * `null` is then rejected by the semantic checks with a clear message.
 */
import type { JSONSchemaType } from 'ajv';
import type { BudgetSpec, PolicyDoc, RuleSpec } from './types.js';

const size = { type: ['integer', 'string'], minimum: 0, minLength: 1 } as const;

const budgets: JSONSchemaType<BudgetSpec> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    rxBytes: { ...size, nullable: true },
    txBytes: { ...size, nullable: true },
    totalBytes: { ...size, nullable: true },
  },
};

const rule: JSONSchemaType<RuleSpec> = {
  anyOf: [
    { type: 'string', minLength: 1 },
    {
      type: 'object',
      additionalProperties: false,
      properties: {
        name: { type: 'string', nullable: true, minLength: 1, maxLength: 64 },
        host: { type: 'string', nullable: true, minLength: 1 },
        cidr: { type: 'string', nullable: true, minLength: 1 },
        ip: { type: 'string', nullable: true, minLength: 1 },
        hosts_file: { type: 'string', nullable: true, minLength: 1 },
        ports: {
          type: 'array',
          nullable: true,
          minItems: 1,
          items: { type: ['integer', 'string'], minLength: 1 },
        },
        proto: { type: 'string', nullable: true, enum: ['tcp', 'udp'] },
      },
    },
  ],
};

export const policySchema: JSONSchemaType<PolicyDoc> = {
  type: 'object',
  additionalProperties: false,
  required: ['version'],
  properties: {
    version: { type: 'integer', const: 1 },
    mode: { type: 'string', nullable: true, enum: ['audit', 'enforce'] },
    loopback: { type: 'string', nullable: true, enum: ['allow', 'deny'] },
    allow: { type: 'array', nullable: true, items: rule },
    deny: { type: 'array', nullable: true, items: rule },
    budgets: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      properties: { perInvoke: { ...budgets, nullable: true } },
    },
  },
};
