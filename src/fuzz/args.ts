// Arguments of `npm run fuzz`, parsed without side effects (the CLI and its test share them).
import { randomBytes } from 'node:crypto';
import { FUZZ_TARGETS } from './run.js';
import type { FuzzTarget } from './types.js';
import { tokenizeArgs } from '../util/cli-args.js';

export interface FuzzArgs {
  cases: number;
  seed: string;
  targets: FuzzTarget[];
  only?: number;
  json: boolean;
}

export function parseFuzzArgs(argv: string[]): FuzzArgs {
  const v = tokenizeArgs(argv, { cases: 'string', seed: 'string', target: 'strings', case: 'string', json: 'boolean' });
  const args: FuzzArgs = { cases: 1000, seed: (v.seed as string | undefined) ?? randomBytes(4).toString('hex'), targets: [], json: v.json === true };
  const cases = v.cases as string | undefined;
  if (cases !== undefined) {
    if (!/^\d{1,9}$/.test(cases) || Number(cases) < 1) throw new Error(`--cases must be a positive whole number, got ${JSON.stringify(cases)}`);
    args.cases = Number(cases);
  }
  const only = v.case as string | undefined;
  if (only !== undefined) {
    if (!/^\d{1,9}$/.test(only)) throw new Error(`--case must be a case index, got ${JSON.stringify(only)}`);
    args.only = Number(only);
  }
  for (const t of (v.target as string[] | undefined) ?? []) {
    if (!FUZZ_TARGETS.includes(t as FuzzTarget)) throw new Error(`--target must be one of ${FUZZ_TARGETS.join(', ')}, got ${JSON.stringify(t)}`);
    args.targets.push(t as FuzzTarget);
  }
  return args;
}
