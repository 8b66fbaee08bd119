import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';
import { UNIT_TESTS } from './vitest.tiers.js';

// `npm run test:unit`: the unit tier (vitest.tiers.ts).
export default defineConfig({ ...base, test: { ...base.test, include: UNIT_TESTS } });
