// ".js" that is ESM because the nearest package.json says "type": "module".
export async function handler() {
  return { form: 'esm-js-type-module' };
}
