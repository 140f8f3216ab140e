#!/usr/bin/env node
// Writes <outDir>/build-info.json (default dist/) after `tsc`: the package version and the git
// commit the build was made from, so a built install without .git still reports its commit
// (metanode --version, metanode_build_info).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2] ?? 'dist';
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  if (dirty) console.error(`build-info: the working tree has uncommitted changes; recording ${commit} anyway`);
} catch {
  console.error('build-info: not a git checkout; commit recorded as unknown');
}
writeFileSync(join(out, 'build-info.json'), JSON.stringify({ version, commit, builtAt: new Date().toISOString() }, null, 2) + '\n');
console.log(`build-info: ${version} ${commit}`);
