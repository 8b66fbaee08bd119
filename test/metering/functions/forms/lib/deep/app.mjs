// ESM in a nested directory.
export const main = async (event) => ({ form: 'esm-mjs-nested', echo: event.n });
