// The chaos run's fault schedule, drawn from a seed: which faults, in what order, on which nodes,
// for how long, and which misbehaviour a Byzantine node shows. Pure: the same (seed, options)
// always gives the same schedule, so a failing run replays from its seed.
import { BYZANTINE_MODES, type ByzantineMode } from '../support/byzantine/modes.js';
import { EPOCH_ATTACK_MODES, type EpochAttackMode } from './epoch-attacks.js';
import { Prng } from '../../src/util/prng.js';

export const FAULT_KINDS = ['kill', 'pause', 'partition', 'byzantine', 'reorg'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** The node's own test-only modes (src/node/byzantine.ts) and the epoch attacks of test/chaos/epoch-attacks.ts. */
export type ChaosMode = ByzantineMode | EpochAttackMode;
const KNOWN_MODES: readonly string[] = [...BYZANTINE_MODES, ...EPOCH_ATTACK_MODES];

export interface Fault {
  index: number;
  kind: FaultKind;
  /** The node the fault hits (index into the federation's nodes); for a partition, one side's first node. */
  node: number;
  /** Partition: the nodes cut off from all the others (a minority of at most n - t). */
  group?: number[];
  mode?: ChaosMode;
  /** Reorg: forget the disconnected custody txs (a competing chain spent their inputs... or
   * simply never had them: the nodes must rebroadcast) rather than return them to the mempool. */
  drop?: boolean;
  /** Reorg: blocks disconnected below the latest block holding a custody tx. */
  extraDepth?: number;
  /** How long the fault lasts before it heals (kill: down time before the restart; reorg: 0, it is instant). */
  holdMs: number;
}

export interface ScheduleOptions {
  seed: string;
  nodes: number;
  threshold: number;
  faults: number;
  roundMs: number;
  /** Kinds to draw from (default all); when faults >= kinds, each kind appears at least once. */
  kinds?: readonly FaultKind[];
  /** Byzantine modes to draw from (default: the node's own, BYZANTINE_MODES; the epoch attacks only when named). */
  modes?: readonly ChaosMode[];
}

export function makeSchedule(o: ScheduleOptions): Fault[] {
  if (!Number.isInteger(o.nodes) || o.nodes < 3) throw new Error(`nodes must be >= 3, got ${o.nodes}`);
  if (!Number.isInteger(o.threshold) || o.threshold < 1 || o.threshold > o.nodes) throw new Error(`threshold must be in 1..${o.nodes}, got ${o.threshold}`);
  if (!Number.isInteger(o.faults) || o.faults < 0) throw new Error(`faults must be a whole number, got ${o.faults}`);
  const kinds = o.kinds?.length ? [...o.kinds] : [...FAULT_KINDS];
  const modes: ChaosMode[] = o.modes?.length ? [...o.modes] : [...BYZANTINE_MODES];
  for (const k of kinds) if (!FAULT_KINDS.includes(k)) throw new Error(`unknown fault kind ${JSON.stringify(k)}`);
  for (const m of modes) if (!KNOWN_MODES.includes(m)) throw new Error(`unknown byzantine mode ${JSON.stringify(m)}`);
  const rng = new Prng(`chaos/${o.seed}`);
  // Each kind once (in seeded order) while faults allow, then seeded draws.
  const order: FaultKind[] = rng.sample(kinds, Math.min(kinds.length, o.faults));
  while (order.length < o.faults) order.push(rng.pick(kinds));
  const modeOrder = rng.sample(modes, modes.length);
  let nextMode = 0;
  const maxMinority = Math.max(1, o.nodes - o.threshold);
  return order.map((kind, index): Fault => {
    const node = rng.int(o.nodes);
    switch (kind) {
      case 'kill':
        return { index, kind, node, holdMs: rng.range(2_000, 8_000) };
      case 'pause':
        return { index, kind, node, holdMs: rng.range(3_000, 10_000) };
      case 'partition': {
        const others = Array.from({ length: o.nodes }, (_, i) => i).filter((i) => i !== node);
        const group = [node, ...rng.sample(others, rng.range(1, maxMinority) - 1)].sort((a, b) => a - b);
        return { index, kind, node: group[0]!, group, holdMs: rng.range(8_000, 20_000) };
      }
      case 'byzantine':
        return { index, kind, node, mode: modeOrder[nextMode++ % modeOrder.length]!, holdMs: rng.range(2, 3) * o.roundMs };
      case 'reorg':
        return { index, kind, node, drop: rng.int(2) === 1, extraDepth: rng.int(2), holdMs: 0 };
    }
  });
}

export function describeFault(f: Fault, names: string[]): string {
  const n = names[f.node] ?? `node-${f.node + 1}`;
  switch (f.kind) {
    case 'kill':
      return `SIGKILL ${n}, restart after ${f.holdMs} ms`;
    case 'pause':
      return `SIGSTOP ${n} for ${f.holdMs} ms`;
    case 'partition':
      return `partition {${f.group!.map((i) => names[i] ?? i).join(',')}} from the rest for ${f.holdMs} ms`;
    case 'byzantine':
      return `${n} byzantine (${f.mode}) for ${f.holdMs} ms`;
    case 'reorg':
      return `reorg from ${f.extraDepth ? `${f.extraDepth} block below ` : ''}the latest block holding a custody tx, ${f.drop ? 'custody txs forgotten' : 'txs back to the mempool'}`;
  }
}
