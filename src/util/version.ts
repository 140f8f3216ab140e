// Version and commit of the running code. package.json sits at the repository root, two levels
// above src/util (tsx) and three above dist/src/util (the build). The commit comes from
// dist/build-info.json, written by `npm run build` (scripts/build-info.mjs); running from the
// sources, from git; 'unknown' when neither is there (a copied tree without .git).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

function readJson(rel: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The version in package.json (one place to bump). */
export function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    const v = readJson(rel)?.version;
    if (typeof v === 'string') return v;
  }
  return '0.0.0';
}

let commit: string | undefined;

/** The git commit the code was built from (or is checked out at). */
export function buildCommit(): string {
  if (commit !== undefined) return commit;
  const built = readJson('../../build-info.json')?.commit;
  if (typeof built === 'string' && /^[0-9a-f]{7,40}$/.test(built)) return (commit = built);
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: new URL('.', import.meta.url), stdio: ['ignore', 'pipe', 'ignore'], timeout: 2_000 }).toString().trim();
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
