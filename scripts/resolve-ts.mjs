// Lets a Node script import the Worker's modules, whose relative imports name no extension
// (the bundler resolves them): an unresolved relative import is retried with `.ts`, then as a
// folder's `index.ts`. A `.wasm` import is a compiled WebAssembly.Module, as in Workers.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (!specifier.startsWith('.') || /\\.[a-z]+$/.test(specifier)) throw error;
    try {
      return await next(specifier + '.ts', context);
    } catch {
      return next(specifier + '/index.ts', context);
    }
  }
}
export async function load(url, context, next) {
  if (!url.endsWith('.wasm')) return next(url, context);
  const source = 'import { readFileSync } from "node:fs";' +
    'export default new WebAssembly.Module(readFileSync(new URL(' + JSON.stringify(url) + ')));';
  return { format: 'module', source, shortCircuit: true };
}`),
  import.meta.url,
);
