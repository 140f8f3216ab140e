// Benchmark dispatcher: `npm run bench -- <name> [--flags]` runs bench/<name>.ts and prints its
// JSON result to stdout (progress goes to stderr). With no name, runs every benchmark: crypto
// with the given flags, the multi-process ones in their --quick mode unless --full is given;
// the results are then printed as one JSON object keyed by benchmark name.
import { pathToFileURL } from 'node:url';
import { resolve, dirname } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const KNOWN = ['crypto', 'round-latency', 'idle', 'replication', 'big-tx', 'requests', 'requests-devnet'];
const PROCESS_BENCHES = new Set(['round-latency', 'idle', 'replication', 'big-tx', 'requests-devnet']);

// Ctrl-C: exit through process.exit so that the node processes a benchmark started get SIGTERM.
process.on('SIGINT', () => process.exit(130));

const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
const all = names.length === 0;
const todo = all ? KNOWN : names;
const results: Record<string, unknown> = {};
for (const name of todo) {
  if (!/^[a-z0-9-]+$/.test(name) || !KNOWN.includes(name) || !existsSync(resolve(here, `${name}.ts`))) {
    process.stderr.write(`unknown benchmark: ${name} (known: ${KNOWN.join(', ')})\n`);
    process.exit(2);
  }
}
for (const name of todo) {
  const mod = (await import(pathToFileURL(resolve(here, `${name}.ts`)).href)) as { main?: (args: string[]) => Promise<unknown> };
  if (typeof mod.main !== 'function') {
    process.stderr.write(`bench/${name}.ts exports no main()\n`);
    process.exit(2);
  }
  // Named: the benchmark gets every flag. All: crypto keeps --quick/--reps, the multi-process
  // ones run --quick unless --full asks for their whole set.
  let own = flags;
  if (all) own = PROCESS_BENCHES.has(name) ? (flags.includes('--full') ? [] : ['--quick']) : flags.filter((f) => f === '--quick' || f.startsWith('--reps='));
  try {
    results[name] = await mod.main(own);
  } catch (e) {
    process.stderr.write(`bench ${name}: ${(e as Error).message}\n`);
    process.exit(1);
  }
  if (!all) process.stdout.write(JSON.stringify(results[name], null, 2) + '\n');
}
if (all) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
process.exit(0);
