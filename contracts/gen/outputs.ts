/**
 * `renderAll(specs)`: every generated file, as repository-relative path → complete text. The one list of outputs:
 * `npm run gen` writes them and the staleness test compares them with the committed files. Every output is a whole
 * file (the exec wrapper, native/wrapper, is C and reads the configuration rule through native/src/config.c).
 */
import { configHeader, errorsHeader, formatHeader, launchHeader, stateHeader } from './emit-c.js';
import { configModule, errorsModule, formatModule, launchModule, stateModule } from './emit-ts.js';
import type { Specs } from './types.js';

export function renderAll(specs: Specs): Map<string, string> {
  return new Map([
    ['native/src/gen/egp_format.h', formatHeader(specs.format)],
    ['native/src/gen/egp_errors.h', errorsHeader(specs.errors)],
    ['native/src/gen/state.h', stateHeader(specs.state)],
    ['native/src/gen/config.h', configHeader(specs.config)],
    ['policy/gen/format.ts', formatModule(specs.format)],
    ['policy/gen/errors.ts', errorsModule(specs.errors)],
    ['policy/gen/state.ts', stateModule(specs.state)],
    ['policy/gen/config.ts', configModule(specs.config)],
    ['native/launcher/gen/launch.h', launchHeader(specs.launch)],
    ['policy/gen/launch.ts', launchModule(specs.launch)],
  ]);
}
