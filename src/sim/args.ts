// Arguments of `npm run sim`, parsed without side effects (the CLI and its test share them).
import { tokenizeArgs } from '../util/cli-args.js';
import { STRATEGIES, type Strategy } from './byzantine.js';
import { DEFAULT_NET } from './net.js';
import { DEFAULT_OPTIONS, type SimOptions } from './run.js';

export interface SimArgs extends SimOptions {
  json: boolean;
}

function whole(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,9}$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`--${name} must be a whole number in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return Number(v);
}

export function parseSimArgs(argv: string[]): SimArgs {
  const v = tokenizeArgs(argv, {
    nodes: 'string', seed: 'string', byzantine: 'string', rounds: 'string', transfers: 'string', strategies: 'string', partitions: 'string',
    rtt: 'string', jitter: 'string', loss: 'string', skew: 'string', 'no-regroup': 'boolean', json: 'boolean',
  });
  const nodes = whole('nodes', v.nodes as string | undefined, 4, 1000);
  if (nodes === undefined) throw new Error('--nodes is required');
  const seed = v.seed as string | undefined;
  if (seed === undefined || !/^[A-Za-z0-9._-]{1,64}$/.test(seed)) throw new Error('--seed is required: 1-64 characters of [A-Za-z0-9._-]');
  const byzantine = whole('byzantine', v.byzantine as string | undefined, 0, nodes - 1) ?? DEFAULT_OPTIONS.byzantine;
  let strategies: readonly Strategy[] = DEFAULT_OPTIONS.strategies;
  if (v.strategies !== undefined) {
    const list = (v.strategies as string).split(',');
    for (const s of list) if (!STRATEGIES.includes(s as Strategy)) throw new Error(`--strategies: ${JSON.stringify(s)} is not one of ${STRATEGIES.join(', ')}`);
    strategies = list as Strategy[];
  }
  const loss = v.loss as string | undefined;
  if (loss !== undefined && !(/^\d*\.?\d+$/.test(loss) && Number(loss) < 1)) throw new Error(`--loss must be a probability in [0, 1), got ${JSON.stringify(loss)}`);
  const net = {
    ...DEFAULT_NET,
    rttMs: whole('rtt', v.rtt as string | undefined, 0, 10_000) ?? DEFAULT_NET.rttMs,
    jitterMs: whole('jitter', v.jitter as string | undefined, 0, 10_000) ?? DEFAULT_NET.jitterMs,
    loss: loss === undefined ? DEFAULT_NET.loss : Number(loss),
    maxSkewMs: whole('skew', v.skew as string | undefined, 0, 10_000) ?? DEFAULT_NET.maxSkewMs,
  };
  if (net.jitterMs > net.rttMs) throw new Error('--jitter must not exceed --rtt');
  return {
    nodes, seed, byzantine, strategies, net,
    rounds: whole('rounds', v.rounds as string | undefined, 0, 100) ?? DEFAULT_OPTIONS.rounds,
    transfers: whole('transfers', v.transfers as string | undefined, 1, 500) ?? DEFAULT_OPTIONS.transfers,
    partitions: whole('partitions', v.partitions as string | undefined, 0, 10_000) ?? DEFAULT_OPTIONS.partitions,
    regroup: v['no-regroup'] !== true,
    json: v.json === true,
  };
}
