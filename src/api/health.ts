// The /health verdict. A node is healthy when it can reach the chain, its clock agrees with
// its peers', and it keeps at least f+1 connections to staked peers (seed 000 §7: enough that
// at least one honest peer is always reachable).
import type { HealthInputs } from './types.js';

export interface HealthReport {
  ok: boolean;
  reasons: string[];
  checks: { started: boolean; chain: boolean; clock: boolean; connections: boolean };
  connections: { connectedStaked: number; required: number };
  clockSkewMs: number | null;
}

/** f+1 with f = floor((n-1)/3), never more than the other n-1 operators there are. */
export function requiredConnections(federationSize: number): number {
  const n = Math.max(1, Math.floor(federationSize));
  const f = Math.floor((n - 1) / 3);
  return Math.min(f + 1, n - 1);
}

export function evaluateHealth(h: HealthInputs, limits: { maxSkewMs: number }): HealthReport {
  const reasons: string[] = [];
  const started = !h.starting;
  if (!started) reasons.push('node is starting');
  const chain = h.chain.reachable;
  if (!chain) reasons.push(`chain unreachable${h.chain.error ? `: ${h.chain.error}` : ''}`);
  const skew = h.clock.skewMs;
  const clock = skew === null || Math.abs(skew) <= limits.maxSkewMs;
  if (!clock) reasons.push(`clock skew ${Math.round(skew!)} ms exceeds ${limits.maxSkewMs} ms`);
  const required = requiredConnections(h.peers.federationSize);
  const enough = h.peers.connectedStaked >= required || h.peers.inBootstrapGrace === true;
  if (!enough) reasons.push(`${h.peers.connectedStaked} connections to staked peers, below f+1 = ${required}`);
  return {
    ok: reasons.length === 0,
    reasons,
    checks: { started, chain, clock, connections: enough },
    connections: { connectedStaked: h.peers.connectedStaked, required },
    clockSkewMs: skew,
  };
}
