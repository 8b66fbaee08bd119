/**
 * Regression (found by the hardening seed check): the reference reader must accept a Node `Buffer` (what
 * `readFileSync` returns, what the CLI and tools pass) and must never modify the caller's bytes. `Buffer#slice` does
 * not copy, so zeroing the CRC fields of a "copy" for the meta CRC check zeroed the caller's file instead and then
 * reported E_POLICY_META_CRC for every valid file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCompiled } from '../../policy/index.js';
import { ROOT } from '../support/guard.js';

describe('reference reader input types', () => {
  for (const name of ['tiny', 'names']) {
    it(`loads golden ${name}.egp from a Buffer and leaves it untouched`, () => {
      const buf = readFileSync(join(ROOT, 'test/fixtures/golden', `${name}.egp`));
      const before = Buffer.from(buf);
      expect(() => loadCompiled(buf)).not.toThrow();
      expect(Buffer.compare(buf, before)).toBe(0);
      expect(() => loadCompiled(buf)).not.toThrow(); // twice: the first call changed nothing
    });
  }
});
