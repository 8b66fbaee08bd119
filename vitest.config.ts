import { defineConfig } from 'vitest/config';

// Tests spawn real processes (LD_PRELOAD, network namespaces, servers on loopback):
// generous timeouts, and files run in separate forks so namespaces and env never leak.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
