// Arguments of `npm run chaos`, parsed without side effects.
import { BYZANTINE_MODES } from '../support/byzantine/modes.js';
import { FAULT_KINDS, type ChaosMode, type FaultKind } from './schedule.js';
import { EPOCH_ATTACK_MODES } from './epoch-attacks.js';
import type { ChaosOptions } from './harness.js';
import { tokenizeArgs } from '../../src/util/cli-args.js';

export interface ChaosArgs extends Omit<ChaosOptions, 'out'> {
  json: boolean;
}

const whole = (flag: string, v: string, min: number, max: number): number => {
  if (!/^\d{1,6}$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return Number(v);
};

export function parseChaosArgs(argv: string[]): ChaosArgs {
  const v = tokenizeArgs(argv, {
    seed: 'string', nodes: 'string', faults: 'string', kinds: 'string', modes: 'string', 'base-port': 'string',
    'round-sec': 'string', 'recovery-rounds': 'string', dir: 'string', keep: 'boolean', json: 'boolean',
  });
  const str = (k: string) => v[k] as string | undefined;
  const a: ChaosArgs = { seed: str('seed') ?? '', json: v.json === true };
  if (str('nodes') !== undefined) a.nodes = whole('--nodes', str('nodes')!, 4, 30);
  if (str('faults') !== undefined) a.faults = whole('--faults', str('faults')!, 0, 100);
  if (str('kinds') !== undefined)
    a.kinds = str('kinds')!.split(',').map((k) => {
      if (!FAULT_KINDS.includes(k as FaultKind)) throw new Error(`--kinds: unknown fault kind ${JSON.stringify(k)} (use ${FAULT_KINDS.join(',')})`);
      return k as FaultKind;
    });
  if (str('modes') !== undefined)
    a.modes = str('modes')!.split(',').map((m) => {
      const known: readonly string[] = [...BYZANTINE_MODES, ...EPOCH_ATTACK_MODES];
      if (!known.includes(m)) throw new Error(`--modes: unknown mode ${JSON.stringify(m)} (use ${known.join(',')})`);
      return m as ChaosMode;
    });
  if (str('base-port') !== undefined) a.basePort = whole('--base-port', str('base-port')!, 1024, 65_000);
  if (str('round-sec') !== undefined) a.roundSec = whole('--round-sec', str('round-sec')!, 4, 60);
  if (str('recovery-rounds') !== undefined) a.recoveryRounds = whole('--recovery-rounds', str('recovery-rounds')!, 1, 100);
  if (str('dir') !== undefined) a.dir = str('dir');
  if (v.keep === true) a.keep = true;
  if (!a.seed) throw new Error('--seed is required (a run replays from its seed)');
  return a;
}
