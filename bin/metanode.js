#!/usr/bin/env node
// Entry point: runs the compiled CLI when `npm run build` produced dist/, otherwise the
// TypeScript sources through tsx's loader (a development dependency).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'src', 'cli', 'main.js');
let mod;
if (existsSync(built)) {
  mod = await import(pathToFileURL(built).href);
} else {
  // tsx is a development dependency: a production install (npm prune --omit=dev) runs dist/.
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(`metanode: no build found at ${built} and tsx is not installed: run \`npm run build\` (with dev dependencies installed) first\n`);
    process.exit(78);
  }
  register();
  mod = await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
await mod.runAndExit(process.argv.slice(2));
