/** `npm run compat:table [-- --check]`: see ./render-table.ts. */
import { main } from './render-table.js';

process.exitCode = main(process.argv.slice(2));
