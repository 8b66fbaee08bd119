/**
 * The test tiers (README "Development"). `npm test` runs every tier; the unit tier is what a contributor without root
 * runs while working.
 * - unit (`npm run test:unit`): no root, no network namespace, no emulator, no network — real processes on loopback at
 *   most; under a minute. These files, and the test/ modules they import, never create a namespace
 *   (test/repo/tiers.test.ts checks it).
 * - integration (`npm run test:integration`): every other test file — guarded programs in namespaces of their own,
 *   runtimes under the Lambda Runtime Interface Emulator, CDK synthesis, packaging, benchmarks.
 * - fuzz (`npm run test:fuzz` = `make -C native fuzz-ci`): every committed seed and crash reproducer replayed under
 *   ASan+UBSan, then a short bounded run per harness; the long runs are `npm run fuzz`.
 */
export const UNIT_TESTS = [
  'test/contracts/**/*.test.ts',
  'test/repo/**/*.test.ts',
  'test/policy/**/*.test.ts',
  'test/suggest/**/*.test.ts',
  'test/native/unit.test.ts',
  'test/native/dnsname.test.ts',
  'test/native/differential.test.ts',
  'test/native/launcher-sha256.test.ts',
  'test/hardening/reader-buffer.test.ts',
  'test/hardening/fuzz.test.ts',
  'test/compat/readme.test.ts',
  'test/demo/runtime-api.test.ts',
  'test/layer/wrapper.test.ts',
  'test/native/executables.test.ts',
];

/** Every test file of every tier. */
export const ALL_TESTS = ['test/**/*.test.ts'];
