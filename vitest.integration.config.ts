import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';
import { UNIT_TESTS } from './vitest.tiers.js';

// `npm run test:integration`: every test file outside the unit tier (vitest.tiers.ts).
export default defineConfig({ ...base, test: { ...base.test, exclude: [...configDefaults.exclude, ...UNIT_TESTS] } });
