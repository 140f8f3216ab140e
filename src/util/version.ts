// Version and commit of the running code. The version is package.json's at the root (src/util/
// paths.ts finds it from the sources and from the build). The commit comes from
// dist/build-info.json, written by `npm run build` (scripts/build-info.mjs); running from the
// sources, from git; 'unknown' when neither is there (a copied tree without .git).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPILED, ROOT } from './paths.js';

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The version in package.json (one place to bump). */
export function packageVersion(): string {
  const v = readJson(join(ROOT, 'package.json'))?.version;
  return typeof v === 'string' ? v : '0.0.0';
}

let commit: string | undefined;

/** The git commit the code was built from (or is checked out at). */
export function buildCommit(): string {
  if (commit !== undefined) return commit;
  // The build records its commit; the sources ask git (a dist/ left beside them may be older).
  if (COMPILED) {
    const built = readJson(join(ROOT, 'dist', 'build-info.json'))?.commit;
    return (commit = typeof built === 'string' && /^[0-9a-f]{7,40}$/.test(built) ? built : 'unknown');
  }
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'], timeout: 2_000 }).toString().trim();
    commit = /^[0-9a-f]{40}$/.test(out) ? out : 'unknown';
  } catch {
    commit = 'unknown';
  }
  return commit;
}

/** `--version` output: version and commit. */
export function versionLine(): string {
  return `${packageVersion()} (commit ${buildCommit()})`;
}
