/**
 * JSON Schemas of the contract specs (ajv strict mode: a misspelt key is an error, never silently ignored). Structure
 * only; the cross-field checks (offsets, overlaps, unique names) are `./load.ts`'s.
 */
export const NAME = '^[A-Z][A-Z0-9_]*$';
const FIELD_NAME = '^[a-z][a-z0-9_]*$';
const str = { type: 'string', minLength: 1 } as const;
const int = { type: 'integer' } as const;
const constant = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'value', 'doc'],
  properties: {
    name: { type: 'string', pattern: NAME },
    value: {
      anyOf: [
        { type: 'integer', minimum: 0 },
        { type: 'string', pattern: '^0x[0-9a-f]{1,16}$' },
      ],
    },
    doc: str,
  },
} as const;
const bit = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'bit', 'doc'],
  properties: { name: { type: 'string', pattern: NAME }, bit: { type: 'integer', minimum: 0, maximum: 31 }, doc: str },
} as const;
const field = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'offset', 'type'],
  properties: {
    name: { type: 'string', pattern: FIELD_NAME },
    offset: { type: 'integer', minimum: 0 },
    type: { type: 'string', pattern: '^(u8|u16|u32|u64|u8\\[[1-9][0-9]*\\])$' },
    writer: str,
    doc: str,
  },
} as const;
const magic = { type: 'string', pattern: '^([0-9a-f]{2} ){7}[0-9a-f]{2}$' } as const;
const numberMap = { type: 'object', additionalProperties: { type: 'integer', minimum: 0 } } as const;

export const formatSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['magic', 'version', 'min_version', 'constants', 'header', 'flags', 'sections', 'enums', 'rule_codes'],
  properties: {
    magic,
    version: { type: 'integer', minimum: 1 },
    min_version: { type: 'integer', minimum: 1 },
    constants: { type: 'array', items: constant },
    header: { type: 'array', items: field },
    flags: { type: 'array', items: bit },
    sections: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'name', 'element_size'],
        properties: {
          id: { type: 'integer', minimum: 1 },
          name: { type: 'string', pattern: NAME },
          element_size: { type: 'integer', minimum: 1 },
          since: { type: 'integer', minimum: 1 },
        },
      },
    },
    enums: { type: 'object', additionalProperties: numberMap },
    rule_codes: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'code', 'display', 'by', 'doc'],
        properties: {
          name: { type: 'string', pattern: NAME },
          code: { type: 'integer', maximum: -1 },
          display: str,
          by: { enum: ['reader', 'interposer'] },
          doc: str,
        },
      },
    },
  },
} as const;

export const errorsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['policy_reader'],
  properties: {
    policy_reader: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'check', 'doc'],
        properties: {
          code: { type: 'string', pattern: '^E_POLICY_[A-Z0-9_]+$' },
          check: { type: 'integer', minimum: 0, maximum: 10 },
          expected_got: { type: 'boolean' },
          doc: str,
        },
      },
    },
  },
} as const;

export const stateSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['magic', 'version', 'size', 'default_path', 'fields', 'seqlock', 'flags', 'trip_budget', 'constants'],
  properties: {
    magic,
    version: { type: 'integer', minimum: 1 },
    size: { type: 'integer', minimum: 16 },
    default_path: { type: 'string', pattern: '^/' },
    fields: { type: 'array', items: field },
    seqlock: {
      type: 'object',
      additionalProperties: false,
      required: ['first', 'end'],
      properties: { first: int, end: int },
    },
    flags: { type: 'array', items: bit },
    trip_budget: numberMap,
    constants: { type: 'array', items: constant },
  },
} as const;

const READERS = ['interposer', 'agent', 'proxy', 'wrapper', 'cli', 'cdk', 'dev'];
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['whitespace', 'bool_words', 'variables'],
  properties: {
    whitespace: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', minLength: 1, maxLength: 1 },
    },
    bool_words: {
      type: 'object',
      additionalProperties: false,
      required: ['true', 'false'],
      properties: {
        true: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[a-z0-9]+$' } },
        false: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[a-z0-9]+$' } },
      },
    },
    variables: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'kind', 'default', 'readers', 'doc'],
        properties: {
          name: { type: 'string', pattern: '^EGRESS_GUARD_[A-Z0-9_]+$' },
          kind: { enum: ['enum', 'bool', 'int', 'path', 'dest', 'string'] },
          values: { type: 'array', minItems: 2, items: { type: 'string', pattern: '^[a-z0-9-]+$' } },
          keywords: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[a-z0-9-]+$' } },
          min: int,
          max: int,
          default: { type: ['string', 'integer', 'boolean', 'null'] },
          default_doc: str,
          invalid: {
            type: 'object',
            additionalProperties: false,
            required: ['use', 'error'],
            properties: {
              use: str,
              fail_closed: { type: 'boolean' },
              error: { type: 'string', pattern: '^E_CONFIG_[A-Z0-9_]+$' },
            },
          },
          readers: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: READERS } },
          doc: str,
        },
      },
    },
  },
} as const;

export const launchSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['magic', 'key_tag', 'dir', 'suffix', 'max_size', 'key_env', 'items'],
  properties: {
    magic: { type: 'string', pattern: '^[ -~]+$' },
    key_tag: { type: 'string', pattern: '^[ -~]+$' },
    dir: { type: 'string', pattern: '^[a-z0-9._-]+(/[a-z0-9._-]+)*$' },
    suffix: { type: 'string', pattern: '^\\.[a-z0-9]+$' },
    max_size: { type: 'integer', minimum: 1024 },
    key_env: { type: 'array', minItems: 1, items: { type: 'string', pattern: NAME } },
    items: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'word', 'values', 'doc'],
        properties: {
          name: { type: 'string', pattern: NAME },
          word: { type: 'string', pattern: '^[a-z0-9]+$' },
          values: { type: 'integer', minimum: 0, maximum: 2 },
          doc: str,
        },
      },
    },
  },
} as const;
