// `npm run chaos -- --seed <s> [--nodes n] [--faults k] [--kinds kill,pause,partition,byzantine,reorg]
//   [--modes m1,m2] [--base-port p] [--round-sec s] [--recovery-rounds r] [--dir d] [--keep] [--json]`
// Runs one seeded fault schedule against a process federation on loopback and judges it. Exit 0
// when every check passes, 1 otherwise, 2 on bad arguments. Progress goes to stderr with --json.
import { parseChaosArgs, type ChaosArgs } from './args.js';
import { runChaos } from './harness.js';

async function main(): Promise<number> {
  let args: ChaosArgs;
  try {
    args = parseChaosArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`chaos: ${(e as Error).message}\n`);
    return 2;
  }
  const { json, ...opts } = args;
  const progress = (l: string) => (json ? process.stderr : process.stdout).write(l + '\n');
  // Ctrl-C / SIGTERM: the run stops at its next wait and stops every node and the devchain.
  const ac = new AbortController();
  const onSignal = () => {
    progress('chaos: stopping (signal)');
    ac.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const report = await runChaos({ ...opts, out: progress, signal: ac.signal });
  if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else {
    progress(`chaos seed=${report.seed}: ${report.ok ? 'all checks pass' : 'FAILED'} in ${(report.durationMs / 1000).toFixed(0)} s` + (report.ok ? '' : `; data kept in ${report.dir}`));
    if (report.error) progress(`error: ${report.error}`);
  }
  return report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`chaos: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
