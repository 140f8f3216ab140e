// Tests that start node processes check that none outlives them.
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of processes whose command line mentions `needle` (Linux /proc), this one excluded. */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}
