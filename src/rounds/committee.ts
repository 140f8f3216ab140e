// Who holds the key. Every node computes the committee from data all honest nodes share: the
// stake table (chain data, checked against the same anchor), objective liveness, and protocol
// violations proven by signed evidence anyone can verify. A node's local blocklist is not an
// input: a blocklist entry is one node's opinion, and letting it shape the committee would let
// a cartel keep honest peers out of regroup (seed 004, "Important!").
import { membersInOrder, defaultThreshold } from '../crypto/identifiers.js';
import type { CommitteeMember } from '../crypto/types.js';
import { MetanodeError } from '../util/errors.js';
import type { VerifiedViolation } from '../epochs/evidence.js';

/** One staked operator as the stake checker sees it. */
export interface StakedPeer {
  peerId: string;
  /** Confirmation height of the stake output: lower = more senior. */
  stakeHeight: number;
  /** Stake txid (hex): breaks ties between stakes confirmed in the same block. */
  stakeTxid: string;
}

/**
 * One row of a node's peer table as the committee computation reads it. Extra fields that the
 * p2p layer keeps (blocklist entries, scores) may be present; they are deliberately ignored.
 */
export interface PeerView extends StakedPeer {
  /** Last valid ping, ms since epoch; undefined = never seen. */
  lastSeenMs?: number;
  /** Present in a node's own table; never read here. */
  blocklistedUntilMs?: number;
}

export interface CommitteeConfig {
  /** committee.max: the top-N staked peers by seniority hold the key. */
  max: number;
  /** Optional fixed threshold; default floor(2n/3)+1 for the committee's size n. */
  threshold?: number;
}

/** Seniority order: stake confirmation height ascending, then txid, then peer id (total order). */
export function compareSeniority(a: StakedPeer, b: StakedPeer): number {
  if (a.stakeHeight !== b.stakeHeight) return a.stakeHeight - b.stakeHeight;
  if (a.stakeTxid !== b.stakeTxid) return a.stakeTxid < b.stakeTxid ? -1 : 1;
  return a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0;
}

function checkStaked(peers: readonly StakedPeer[]): void {
  const seen = new Set<string>();
  for (const p of peers) {
    if (typeof p.peerId !== 'string' || p.peerId.length === 0)
      throw new MetanodeError('INVALID_INPUT', 'staked peer without a peer id');
    if (!Number.isSafeInteger(p.stakeHeight) || p.stakeHeight < 0)
      throw new MetanodeError('INVALID_INPUT', `stake height of ${p.peerId} must be a non-negative integer`);
    if (typeof p.stakeTxid !== 'string' || !/^[0-9a-f]{64}$/.test(p.stakeTxid))
      throw new MetanodeError('INVALID_INPUT', `stake txid of ${p.peerId} must be 64 lowercase hex characters`);
    if (seen.has(p.peerId)) throw new MetanodeError('DUPLICATE_IDENTIFIER', `peer ${p.peerId} staked twice`, [p.peerId]);
    seen.add(p.peerId);
  }
}

/** Members in seniority order; FROST identifiers are positions 1..n (identifiers.ts). */
function toMembers(peers: readonly StakedPeer[]): CommitteeMember[] {
  return membersInOrder(peers.map((p) => p.peerId));
}

/** Threshold for a committee of n: the configured one (validated) or floor(2n/3)+1. */
export function committeeThreshold(n: number, configured?: number): number {
  if (configured === undefined) return defaultThreshold(n);
  if (!Number.isSafeInteger(configured) || configured < 1 || configured > n)
    throw new MetanodeError('INVALID_CONFIG', `threshold ${configured} must be an integer in [1, ${n}]`);
  return configured;
}

/** Keygen committee: the top `max` staked peers by seniority. */
export function computeCommittee(staked: readonly StakedPeer[], cfg: CommitteeConfig): { committee: CommitteeMember[]; threshold: number } {
  if (!Number.isSafeInteger(cfg.max) || cfg.max < 1) throw new MetanodeError('INVALID_CONFIG', `committee.max must be a positive integer, got ${cfg.max}`);
  checkStaked(staked);
  const top = [...staked].sort(compareSeniority).slice(0, cfg.max);
  if (top.length === 0) throw new MetanodeError('INVALID_INPUT', 'no staked peers: no committee');
  return { committee: toMembers(top), threshold: committeeThreshold(top.length, cfg.threshold) };
}

export interface RegroupCommitteeInput {
  /** This node's peer table (staked peers only; includes itself). */
  peers: readonly PeerView[];
  oldCommittee: readonly CommitteeMember[];
  now: number;
  /** A peer with no valid ping for this long counts as offline (missed pings). */
  offlineAfterMs: number;
  /** Only violations whose signed evidence verified (see epochs/evidence.ts). */
  violations: readonly VerifiedViolation[];
  cfg: CommitteeConfig;
}

export type PruneReason = 'offline' | 'violation' | 'unstaked' | 'cap';

export interface RegroupCommittee {
  committee: CommitteeMember[];
  threshold: number;
  /** Old members not in the new committee, with the objective reason. */
  pruned: { peerId: string; reason: PruneReason }[];
  /** New members that were not in the old committee. */
  admitted: string[];
}

/**
 * Regroup committee: staked peers that are online and have no proven violation, top `max` by
 * seniority. Old members get no precedence beyond their seniority, so the outcome is the same
 * whoever computes it from the same stake table, liveness and evidence.
 */
export function computeRegroupCommittee(input: RegroupCommitteeInput): RegroupCommittee {
  const { peers, oldCommittee, now, offlineAfterMs, violations, cfg } = input;
  if (!Number.isSafeInteger(cfg.max) || cfg.max < 1) throw new MetanodeError('INVALID_CONFIG', `committee.max must be a positive integer, got ${cfg.max}`);
  if (!(offlineAfterMs > 0)) throw new MetanodeError('INVALID_CONFIG', 'offlineAfterMs must be positive');
  checkStaked(peers);
  const violators = new Set(violations.map((v) => v.peerId));
  const online = (p: PeerView) => p.lastSeenMs !== undefined && now - p.lastSeenMs <= offlineAfterMs;
  const eligible = peers.filter((p) => online(p) && !violators.has(p.peerId)).sort(compareSeniority);
  const chosen = eligible.slice(0, cfg.max);
  if (chosen.length === 0) throw new MetanodeError('INVALID_INPUT', 'no eligible staked peers: no committee');
  const chosenIds = new Set(chosen.map((p) => p.peerId));
  const byId = new Map(peers.map((p) => [p.peerId, p]));
  const oldIds = new Set(oldCommittee.map((m) => m.peerId));
  const pruned: RegroupCommittee['pruned'] = [];
  for (const m of oldCommittee) {
    if (chosenIds.has(m.peerId)) continue;
    const p = byId.get(m.peerId);
    const reason: PruneReason = !p ? 'unstaked' : violators.has(m.peerId) ? 'violation' : !online(p) ? 'offline' : 'cap';
    pruned.push({ peerId: m.peerId, reason });
  }
  return {
    committee: toMembers(chosen),
    threshold: committeeThreshold(chosen.length, cfg.threshold),
    pruned,
    admitted: chosen.filter((p) => !oldIds.has(p.peerId)).map((p) => p.peerId),
  };
}

/**
 * Dealers for a regroup: the first t old members (old committee order = seniority) that are
 * available. Fewer than t available means the key cannot be reshared now.
 */
export function selectDealers(oldCommittee: readonly CommitteeMember[], oldThreshold: number, available: (peerId: string) => boolean): CommitteeMember[] {
  const dealers = oldCommittee.filter((m) => available(m.peerId)).slice(0, oldThreshold);
  if (dealers.length < oldThreshold)
    throw new MetanodeError('ABORTED', `only ${dealers.length} of the ${oldThreshold} old holders needed to reshare are available`, [], {
      available: dealers.map((d) => d.peerId),
    });
  return dealers;
}

/** Deterministic digest input for agreeing on a committee: peer ids in order plus threshold. */
export function committeeKey(committee: readonly CommitteeMember[], threshold: number): string {
  return JSON.stringify({ t: threshold, m: committee.map((m) => [m.peerId, m.identifier]) });
}
