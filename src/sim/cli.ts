// `npm run sim -- --nodes N --seed S [--byzantine K] [--json] ...`: one deterministic simulation
// run (see run.ts). Exit 0 when every invariant held, 1 when one failed (the report names it and
// the replay command), 2 on bad arguments.
import { parseSimArgs, type SimArgs } from './args.js';
import { runSim, type SimReport } from './run.js';

function human(r: SimReport): string[] {
  const lines = [
    `sim seed ${r.seed}: ${r.nodes} members, t = ${r.threshold}, f = ${r.f}, ${r.byzantine.length} Byzantine; RTT ${r.net.rttMs} ms ± ${r.net.jitterMs / 2} ms, loss ${r.net.loss}`,
  ];
  if (r.byzantine.length) lines.push(`  Byzantine: ${r.byzantine.map((b) => `#${b.index} ${b.strategy}`).join(', ')}`);
  for (const s of r.scenarios) {
    const t = s.traffic;
    lines.push(
      `  ${s.name.padEnd(10)} ${s.completed ? 'completed' : 'NOT completed'}  virtual ${s.virtualMs ?? '-'} ms (bound ${s.boundMs})` +
        `${s.attempts !== undefined ? `, attempts ${s.attempts}` : ''}, per node sent ${t.sentMessages.mean} msgs / ${t.sentBytes.mean} B, received ${t.receivedMessages.mean} msgs / ${t.receivedBytes.mean} B` +
        `, wall ${s.wallMs} ms` + (s.culprits.length ? `, named: ${s.culprits.map((c) => `${c.peer.slice(-6)}:${c.code}${c.byzantine ? '' : ' (HONEST)'}`).join(' ')}` : ''),
    );
  }
  lines.push(`  ${r.checks} invariant checks over ${r.steps} steps; trace ${r.traceHash}; wall ${r.wallMs} ms`);
  if (r.ok) lines.push('  all invariants held');
  for (const v of r.violations) lines.push(`  VIOLATION ${v.invariant} in ${v.scenario} at ${v.at}: ${v.detail}`);
  if (!r.ok) lines.push(`  replay: ${r.replay}`);
  return lines;
}

async function main(): Promise<number> {
  let args: SimArgs;
  try {
    args = parseSimArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`sim: ${(e as Error).message}\n`);
    return 2;
  }
  const { json, ...opts } = args;
  const report = await runSim({ ...opts, progress: (l) => process.stderr.write(`sim: ${l}\n`) });
  process.stdout.write(json ? JSON.stringify(report, null, 2) + '\n' : human(report).join('\n') + '\n');
  return report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`sim: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
