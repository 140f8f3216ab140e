// Arguments of `npm run fuzz`, parsed without side effects (the CLI and its test share them).
import { randomBytes } from 'node:crypto';
import { FUZZ_TARGETS } from './run.js';
import type { FuzzTarget } from './types.js';

export interface FuzzArgs {
  cases: number;
  seed: string;
  targets: FuzzTarget[];
  only?: number;
  json: boolean;
}

export function parseFuzzArgs(argv: string[]): FuzzArgs {
  const args: FuzzArgs = { cases: 1000, seed: randomBytes(4).toString('hex'), targets: [], json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--cases') {
      const v = value();
      if (!/^\d{1,9}$/.test(v) || Number(v) < 1) throw new Error(`--cases must be a positive whole number, got ${JSON.stringify(v)}`);
      args.cases = Number(v);
    } else if (a === '--seed') args.seed = value();
    else if (a === '--case') {
      const v = value();
      if (!/^\d{1,9}$/.test(v)) throw new Error(`--case must be a case index, got ${JSON.stringify(v)}`);
      args.only = Number(v);
    } else if (a === '--target') {
      const v = value() as FuzzTarget;
      if (!FUZZ_TARGETS.includes(v)) throw new Error(`--target must be one of ${FUZZ_TARGETS.join(', ')}, got ${JSON.stringify(v)}`);
      args.targets.push(v);
    } else if (a === '--json') args.json = true;
    else throw new Error(`unknown argument ${JSON.stringify(a)} (use --cases, --seed, --target, --case, --json)`);
  }
  return args;
}
