import { defineConfig } from 'vitest/config';
import { ALL_TESTS } from './vitest.tiers.js';

// Every test file (`npx vitest run FILE` picks one). The tiers are vitest.unit.config.ts and
// vitest.integration.config.ts (vitest.tiers.ts says which file is where).
// Tests spawn real processes (LD_PRELOAD, network namespaces, servers on loopback):
// generous timeouts, and files run in separate forks so namespaces and env never leak.
export default defineConfig({
  test: {
    include: ALL_TESTS,
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
