// Arguments of `npm run chaos`, parsed without side effects.
import { BYZANTINE_MODES, type ByzantineMode } from '../../src/config/schema.js';
import { FAULT_KINDS, type FaultKind } from './schedule.js';
import type { ChaosOptions } from './harness.js';

export interface ChaosArgs extends Omit<ChaosOptions, 'out'> {
  json: boolean;
}

const whole = (flag: string, v: string, min: number, max: number): number => {
  if (!/^\d{1,6}$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return Number(v);
};

export function parseChaosArgs(argv: string[]): ChaosArgs {
  const a: ChaosArgs = { seed: '', json: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--seed':
        a.seed = value();
        break;
      case '--nodes':
        a.nodes = whole(flag, value(), 4, 30);
        break;
      case '--faults':
        a.faults = whole(flag, value(), 0, 100);
        break;
      case '--kinds':
        a.kinds = value().split(',').map((k) => {
          if (!FAULT_KINDS.includes(k as FaultKind)) throw new Error(`--kinds: unknown fault kind ${JSON.stringify(k)} (use ${FAULT_KINDS.join(',')})`);
          return k as FaultKind;
        });
        break;
      case '--modes':
        a.modes = value().split(',').map((m) => {
          if (!BYZANTINE_MODES.includes(m as ByzantineMode)) throw new Error(`--modes: unknown mode ${JSON.stringify(m)} (use ${BYZANTINE_MODES.join(',')})`);
          return m as ByzantineMode;
        });
        break;
      case '--base-port':
        a.basePort = whole(flag, value(), 1024, 65_000);
        break;
      case '--round-sec':
        a.roundSec = whole(flag, value(), 4, 60);
        break;
      case '--recovery-rounds':
        a.recoveryRounds = whole(flag, value(), 1, 100);
        break;
      case '--dir':
        a.dir = value();
        break;
      case '--keep':
        a.keep = true;
        break;
      case '--json':
        a.json = true;
        break;
      default:
        throw new Error(`unknown argument ${JSON.stringify(flag)} (use --seed, --nodes, --faults, --kinds, --modes, --base-port, --round-sec, --recovery-rounds, --dir, --keep, --json)`);
    }
  }
  if (!a.seed) throw new Error('--seed is required (a run replays from its seed)');
  return a;
}
