/** Public API of `egress-guard suggest` (docs/SUGGEST.md). Re-exports only. */

export { type AgainstReport, checkAgainst, type Denied, type Fix } from './against.js';
export { againstJson, renderAgainst } from './against-report.js';
export { type Aggregator, type Destination, type Stats, UNKNOWN_FUNCTION } from './aggregate.js';
export { readableSize } from './budgets.js';
export { type NamedInput, openInput, readInput } from './input.js';
export { DEFAULT_MIN_SIBLINGS, type SuggestedRule } from './plan.js';
export { againstPolicy, collect, SuggestError, type SuggestOptions, suggestPolicy, summary } from './run.js';
export { collapseNames, PROVIDER_SUFFIXES, wildcardUnsafe } from './wildcard.js';
