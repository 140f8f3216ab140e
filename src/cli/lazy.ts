// Commands whose implementation lives in modules wired later (the node, the devnet) load them
// on demand, so every other command works even when those modules are absent or broken.
import { MetanodeError } from '../util/errors.js';

/** Import `spec` (relative to src/cli/) and return its export `name`, checked to be a function. */
export async function loadExport<F extends (...args: never[]) => unknown>(spec: string, name: string, what: string): Promise<F> {
  const url = new URL(spec, import.meta.url).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(spec.replace(/^(\.\.\/)+/, '').replace(/\.js$/, '')))
      throw new MetanodeError('NODE_ERROR', `${what} is not available in this build (${spec} is missing)`);
    throw e;
  }
  const f = mod[name];
  if (typeof f !== 'function') throw new MetanodeError('NODE_ERROR', `${what}: ${spec} does not export a function ${name}`);
  return f as F;
}
