// Benchmark dispatcher: `npm run bench -- <name> [...]` runs bench/<name>.ts, which prints JSON to
// stdout (progress goes to stderr). With no name, runs every known benchmark in turn.
import { pathToFileURL } from 'node:url';
import { resolve, dirname } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const KNOWN = ['crypto'];
const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const todo = names.length ? names : KNOWN;
for (const name of todo) {
  if (!/^[a-z0-9-]+$/.test(name)) {
    process.stderr.write(`bad benchmark name: ${name}\n`);
    process.exit(2);
  }
  const file = resolve(here, `${name}.ts`);
  if (!existsSync(file)) {
    process.stderr.write(`unknown benchmark: ${name} (known: ${KNOWN.join(', ')})\n`);
    process.exit(2);
  }
  const mod = (await import(pathToFileURL(file).href)) as { main?: (args: string[]) => Promise<unknown> };
  if (typeof mod.main !== 'function') {
    process.stderr.write(`bench/${name}.ts exports no main()\n`);
    process.exit(2);
  }
  const result = await mod.main(process.argv.slice(2).filter((a) => a.startsWith('-')));
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}
