// Byzantine attacks on the epoch trust boundary for the chaos harness (issue 13), test-side only:
// the node process that carries them out runs test/support/node-main.ts, a wrapper around
// `metanode start` that leaves the node's code alone; with `epochAttacks` set it attaches
// test/chaos/epoch-attacker.ts, which changes only what the node serves on epochs.sync and which
// epoch its pings announce, while an attack is switched on.
//
//   forged-epoch     a keygen record for epoch current+1 on top of the current epoch, committee the
//                    attacker and a sybil identity of its own (a 2-of-2 key it holds entirely),
//                    signed by both, with a consistent key; served through sync while its pings
//                    announce epoch current+1 (issue 13, finding 1)
//   replayed-record  the fully signed records of superseded epochs (retired or replaced: real
//                    records of this federation, every member's signature on them; the current
//                    one when none is superseded yet), served as if they were new while its pings
//                    announce epoch current+1 (finding 2)
//
// The switch is a file in the node's data directory (the harness writes it); the wrapper reports
// what it did (actions, and what it offered) in another file there.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const EPOCH_ATTACK_MODES = ['forged-epoch', 'replayed-record'] as const;
export type EpochAttackMode = (typeof EPOCH_ATTACK_MODES)[number];
export const isEpochAttackMode = (m: string): m is EpochAttackMode => (EPOCH_ATTACK_MODES as readonly string[]).includes(m);

/** One record the attacker served, as the audit looks for it on honest nodes. */
export interface OfferedRecord {
  mode: EpochAttackMode;
  epoch: number;
  outputKey: string;
  /** recordHash of the offered record. */
  hash: string;
}

export interface EpochAttackState {
  mode: EpochAttackMode | 'none';
  /** Sync replies served with the attack, per mode. */
  actions: Record<string, number>;
  offered: OfferedRecord[];
}

export const modeFile = (dataDir: string) => join(dataDir, 'epoch-attack.mode');
export const stateFile = (dataDir: string) => join(dataDir, 'epoch-attack.json');

export function setEpochAttack(dataDir: string, mode: EpochAttackMode | 'none'): void {
  writeFileSync(modeFile(dataDir), mode, { mode: 0o600 });
}

export function readEpochAttackMode(dataDir: string): EpochAttackMode | 'none' {
  if (!existsSync(modeFile(dataDir))) return 'none';
  const m = readFileSync(modeFile(dataDir), 'utf8').trim();
  return isEpochAttackMode(m) ? m : 'none';
}

export function readEpochAttackState(dataDir: string): EpochAttackState {
  const f = stateFile(dataDir);
  if (!existsSync(f)) return { mode: 'none', actions: {}, offered: [] };
  return JSON.parse(readFileSync(f, 'utf8')) as EpochAttackState;
}

export function writeEpochAttackState(dataDir: string, s: EpochAttackState): void {
  const tmp = stateFile(dataDir) + '.tmp';
  writeFileSync(tmp, JSON.stringify(s), { mode: 0o600 });
  renameSync(tmp, stateFile(dataDir));
}
