// What a failed multi-node test prints about each node: the last warnings and errors of its pino
// log, one short line each. CI keeps only a test's output, not its temporary directory, so this
// is what there is to diagnose a failure seen once on a loaded machine.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const FIELDS = ['kind', 'epoch', 'round', 'code', 'reason', 'err', 'culprits', 'peer', 'waitingFor', 'action'];

/** One line per warning/error (pino level >= 40), the last `per` of each node-* directory in `dir`. */
export function logDigest(dir: string, per = 12): string[] {
  if (!existsSync(dir)) return [];
  const lines: string[] = [];
  for (const name of readdirSync(dir).filter((d) => d.startsWith('node-')).sort()) {
    const file = join(dir, name, 'node.log');
    if (!existsSync(file)) continue;
    const entries: string[] = [];
    let t0: number | null = null;
    for (const raw of readFileSync(file, 'utf8').split('\n')) {
      if (!raw.startsWith('{')) continue;
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (typeof e.time === 'number') t0 ??= e.time;
      if (typeof e.level !== 'number' || e.level < 40) continue;
      const extra = FIELDS.filter((k) => e[k] !== undefined).map((k) => `${k}=${short(e[k])}`).join(' ');
      const at = typeof e.time === 'number' && t0 !== null ? `+${((e.time - t0) / 1000).toFixed(1)}s` : '';
      entries.push(`  ${name} ${at} ${String(e.msg ?? '')}${extra ? ` (${extra})` : ''}`);
    }
    lines.push(`${name}: ${entries.length} warnings/errors${entries.length > per ? `, last ${per}` : ''}`, ...entries.slice(-per));
  }
  return lines;
}

function short(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  const trimmed = s.replace(/12D3KooW[1-9A-HJ-NP-Za-km-z]{44}/g, (p) => `…${p.slice(-6)}`);
  return trimmed.length > 160 ? `${trimmed.slice(0, 157)}...` : trimmed;
}
