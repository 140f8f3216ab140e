// `npm run fuzz -- --cases <k> [--seed s] [--target t ...] [--case i] [--json]`
// Exit 0 when every case was refused with a reason and the corpus checks pass, 1 otherwise,
// 2 on bad arguments.
import { runFuzz, summarise } from './run.js';
import { parseFuzzArgs, type FuzzArgs } from './args.js';

async function main(): Promise<number> {
  let args: FuzzArgs;
  try {
    args = parseFuzzArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`fuzz: ${(e as Error).message}\n`);
    return 2;
  }
  const report = await runFuzz({
    cases: args.cases,
    seed: args.seed,
    targets: args.targets,
    ...(args.only !== undefined ? { only: args.only } : {}),
    out: args.json ? undefined : (l) => process.stdout.write(l + '\n'),
  });
  if (args.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else process.stdout.write(summarise(report).join('\n') + '\n');
  return report.failed === 0 && report.sanity.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`fuzz: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
