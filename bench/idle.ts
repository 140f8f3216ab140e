// Idle cost per node: n node processes that only ping (no keygen, so no key and no rounds; no new
// blocks; chain polled every 5 s, the config default), each measured from /proc: CPU = (utime +
// stime) over a window, as a percentage of one core; memory = VmRSS at the end of the window.
//
// Flags: --n=21, --window=30 (seconds), --ping-ms=3000 (the config default), --quick (n=5, 10 s).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseFlags } from './flags.js';
import { log, machine, stats, waitFor, withFederation } from './process-federation.js';

const CHAIN_POLL_MS = 5_000;

export const FLAGS = { quick: 'bool', n: 'int', window: 'int', 'ping-ms': 'int' } as const;

export function options(args: string[]) {
  const f = parseFlags(args, FLAGS);
  const n = (f.n as number | undefined) ?? (f.quick ? 5 : 21);
  if (n < 3 || n > 30) throw new Error(`--n: ${n} is outside 3..30`);
  const pingMs = (f['ping-ms'] as number | undefined) ?? 3_000;
  if (pingMs < 100) throw new Error(`--ping-ms must be >= 100, got ${pingMs}`);
  return { n, windowSec: (f.window as number | undefined) ?? (f.quick ? 10 : 30), pingMs };
}

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** utime + stime of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields after it are space-separated.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

/** Resident set size in KiB (/proc/<pid>/status VmRSS). */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

export async function main(args: string[] = []) {
  const o = options(args);
  const at = machine();
  const hz = clockTicks();
  log(`idle: n=${o.n}, pings every ${o.pingMs} ms, ${o.windowSec}-second window`);
  const result = await withFederation(
    { nodes: o.n, basePort: 30450, keygenUntilMs: 0, blockIntervalMs: 0, chainPollMs: CHAIN_POLL_MS, pingIntervalMs: o.pingMs, peerTimeoutMs: Math.max(10_000, 3 * o.pingMs) },
    async (fed) => {
      // Measure once every node admits every other one (the steady state), plus a short settle.
      const t0 = Date.now();
      await waitFor(
        async () => {
          const st = await Promise.all(fed.nodes.map((x) => x.api.get<{ peers: { admitted: number } }>('/v1/status')));
          return st.every((s) => s.peers.admitted >= o.n - 1);
        },
        180_000,
        `every node to admit its ${o.n - 1} peers`,
        1_000,
      );
      log(`  all peers admitted after ${((Date.now() - t0) / 1000).toFixed(0)} s; settling 5 s`);
      await new Promise((r) => setTimeout(r, 5_000));
      const pids = fed.nodes.map((x) => x.pid!);
      const before = pids.map(cpuTicks);
      const start = performance.now();
      await new Promise((r) => setTimeout(r, o.windowSec * 1000));
      const seconds = (performance.now() - start) / 1000;
      const after = pids.map(cpuTicks);
      const rss = pids.map(rssKiB);
      const perNode = pids.map((pid, i) => ({
        node: fed.nodes[i]!.name,
        cpuPercent: Math.round(((after[i]! - before[i]!) / hz / seconds) * 1000) / 10,
        rssMiB: Math.round((rss[i]! / 1024) * 10) / 10,
      }));
      return { seconds: Math.round(seconds * 10) / 10, perNode };
    },
  );
  const cpu = stats(result.perNode.map((x) => x.cpuPercent));
  const mem = stats(result.perNode.map((x) => x.rssMiB));
  log(`  per node: CPU median ${cpu.median}% of a core (max ${cpu.max}%), RSS median ${mem.median} MiB (max ${mem.max})`);
  return {
    benchmark: 'idle',
    n: o.n,
    pingIntervalMs: o.pingMs,
    chainPollMs: CHAIN_POLL_MS,
    windowSec: result.seconds,
    machine: at,
    cpuPercentPerNode: cpu,
    rssMiBPerNode: mem,
    totalCpuPercent: Math.round(result.perNode.reduce((s, x) => s + x.cpuPercent, 0) * 10) / 10,
    totalRssMiB: Math.round(result.perNode.reduce((s, x) => s + x.rssMiB, 0)),
    perNode: result.perNode,
  };
}
