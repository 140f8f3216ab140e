// Where the code runs from: the repository (or install) root, found by walking up to the
// package.json named metanode, whether this module is src/util/paths.ts (run through tsx) or
// dist/src/util/paths.js (the build). Data files (config/devnet.yaml) are read from the root, so
// the build needs no copies of them.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);

/** True when running the build output (JavaScript), false when running TypeScript through tsx. */
export const COMPILED = here.endsWith('.js');

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'metanode') return dir;
      } catch {
        // not ours; keep walking
      }
    }
    if (dirname(dir) === dir) return join(dirname(here), '..', '..');
  }
}

export const ROOT = findRoot(dirname(here));

/** `node` arguments that run the CLI the way this process runs: the build's main.js, or main.ts through tsx. */
export function cliArgs(): string[] {
  return COMPILED ? [join(dirname(here), '..', 'cli', 'main.js')] : ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')];
}
