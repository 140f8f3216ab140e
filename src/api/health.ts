// The /health verdict, in three answers:
//   200 ok        the node can take part: stake valid, the current share held (committee
//                 members), connections to at least f+1 staked peers, chain source fresh, clock ok;
//   206 syncing   nothing is wrong but the node is catching up (chain tip or epochs behind its
//                 peers, or still listening for a doppelganger after start);
//   503 unhealthy anything else, with every reason.
// f comes from the committee in force (its size in the epoch record), never from how many peers
// this node happens to see: a node that sees nobody must not conclude that it needs nobody.
import type { HealthInputs } from './types.js';
import { faultTolerance } from '../p2p/connections.js';

export type HealthStatus = 'ok' | 'syncing' | 'unhealthy';

export interface HealthReport {
  ok: boolean;
  status: HealthStatus;
  /** HTTP status: 200, 206 or 503. */
  httpStatus: number;
  /** Why the node is not healthy (503). */
  reasons: string[];
  /** What it is catching up on (206, or alongside reasons). */
  syncing: string[];
  checks: { started: boolean; chain: boolean; clock: boolean; connections: boolean; stake: boolean; share: boolean };
  connections: { connectedStaked: number; required: number; basis: 'committee' | 'known-peers' };
  clockSkewMs: number | null;
}

/** f+1 with f = floor((n-1)/3), never more than the other n-1 operators there are. */
export function requiredConnections(federationSize: number): number {
  const n = Math.max(1, Math.floor(federationSize));
  return Math.min(faultTolerance(n) + 1, n - 1);
}

/**
 * Connections a node needs: f+1 of the committee in force (of its other members when we are one).
 * Before any committee exists there is no f to take, and at least one staked peer is required.
 */
export function requiredFor(h: Pick<HealthInputs, 'committee' | 'peers'>): { required: number; basis: 'committee' | 'known-peers' } {
  const c = h.committee;
  if (c) {
    const n = Math.max(1, c.size);
    return { required: Math.max(0, Math.min(faultTolerance(n) + 1, c.member ? n - 1 : n)), basis: 'committee' };
  }
  return { required: Math.max(1, requiredConnections(h.peers.federationSize)), basis: 'known-peers' };
}

export function evaluateHealth(h: HealthInputs, limits: { maxSkewMs: number }): HealthReport {
  const reasons: string[] = [];
  const syncing: string[] = [];
  const started = !h.starting;
  if (!started) reasons.push('node is starting');
  if (h.listening) syncing.push('listening for another instance with this peer id before taking part');

  let chain = h.chain.reachable;
  if (!chain) reasons.push(`chain unreachable${h.chain.error ? `: ${h.chain.error}` : ''}`);
  else if (h.chain.freshnessMs !== undefined) {
    const age = h.chain.lastAnswerAgeMs ?? null;
    if (age === null || age > h.chain.freshnessMs) {
      chain = false;
      reasons.push(age === null ? 'chain source has not answered yet' : `chain source last answered ${Math.round(age / 1000)} s ago, over the ${Math.round(h.chain.freshnessMs / 1000)} s bound`);
    }
  }
  if (chain && h.chain.behind) syncing.push('chain tip behind the tip most staked peers announce');

  const skew = h.clock.skewMs;
  const clock = skew === null || Math.abs(skew) <= limits.maxSkewMs;
  if (!clock) reasons.push(`clock skew ${Math.round(skew!)} ms exceeds ${limits.maxSkewMs} ms`);

  let stake = true;
  if (h.stake) {
    stake = h.stake.configured && h.stake.valid;
    if (!h.stake.configured) reasons.push('no stake configured (stake.txid, stake.vout)');
    else if (!h.stake.valid) reasons.push(`own stake not valid${h.stake.reason ? `: ${h.stake.reason}` : ''}`);
  }

  let share = true;
  if (h.committee?.member && !h.committee.shareHeld) {
    share = false;
    if (h.epochsBehind) syncing.push('epochs behind: fetching the current epoch record and share state');
    else reasons.push('committee member without the current key share');
  } else if (h.epochsBehind) syncing.push('at least f+1 staked peers announce a newer epoch');

  const { required, basis } = requiredFor(h);
  const enough = h.peers.connectedStaked >= required || h.peers.inBootstrapGrace === true;
  if (!enough) reasons.push(`${h.peers.connectedStaked} connections to staked peers, below f+1 = ${required}${basis === 'committee' ? ` of the committee of ${h.committee!.size}` : ''}`);

  // A share missing only because epochs are behind is catching up, not a fault.
  const ok = reasons.length === 0;
  const status: HealthStatus = !ok ? 'unhealthy' : syncing.length || !share ? 'syncing' : 'ok';
  return {
    ok: status === 'ok',
    status,
    httpStatus: status === 'ok' ? 200 : status === 'syncing' ? 206 : 503,
    reasons,
    syncing,
    checks: { started, chain, clock, connections: enough, stake, share },
    connections: { connectedStaked: h.peers.connectedStaked, required, basis },
    clockSkewMs: skew,
  };
}
