// FROST identifiers and committee bookkeeping.
// A member's identifier is derived from its libp2p peer id, so every node computes the same
// identifier for the same operator without another round of messages.
import { fail, frost, tryIdentifier } from './internal.js';
import type { CommitteeMember } from './types.js';

const IDENT_RE = /^[0-9a-f]{64}$/;

/** Deterministic, non-zero FROST identifier for a peer id (noble Identifier.derive). */
export function identifierForPeer(peerId: string): string {
  if (typeof peerId !== 'string' || peerId.length === 0 || peerId.length > 256)
    fail('INVALID_INPUT', 'peer id must be a non-empty string of at most 256 characters');
  return frost.Identifier.derive('metanode/peer/' + peerId);
}

/** floor(2n/3) + 1, capped at n (n = 3f + 1 gives 2f + 1). */
export function defaultThreshold(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) fail('INVALID_INPUT', `committee size must be a positive integer, got ${n}`);
  return Math.min(n, Math.floor((2 * n) / 3) + 1);
}

/**
 * Accepts committee entries as CommitteeMember records, or as strings: a 64-hex string is taken
 * as a FROST identifier (its peer id is then unknown and set to the identifier itself), any other
 * string as a peer id whose identifier is identifierForPeer(). Order is kept (seniority order).
 * Throws INVALID_IDENTIFIER / DUPLICATE_IDENTIFIER naming the offending entry.
 */
export function normalizeCommittee(committee: ReadonlyArray<string | CommitteeMember>): CommitteeMember[] {
  if (!Array.isArray(committee)) fail('INVALID_INPUT', 'committee must be an array');
  const out: CommitteeMember[] = [];
  const seen = new Set<string>();
  const seenPeers = new Set<string>();
  for (const entry of committee) {
    let m: CommitteeMember;
    if (typeof entry === 'string') {
      m = IDENT_RE.test(entry) ? { peerId: entry, identifier: entry } : { peerId: entry, identifier: identifierForPeer(entry) };
    } else if (entry && typeof entry === 'object' && typeof entry.peerId === 'string' && typeof entry.identifier === 'string') {
      m = { peerId: entry.peerId, identifier: entry.identifier };
    } else {
      fail('INVALID_INPUT', 'committee entry must be a peer id, an identifier or {peerId, identifier}');
    }
    if (tryIdentifier(m.identifier) === null)
      fail('INVALID_IDENTIFIER', `identifier ${m.identifier} is not a canonical non-zero scalar`, [m.identifier]);
    if (seen.has(m.identifier)) fail('DUPLICATE_IDENTIFIER', `identifier ${m.identifier} appears twice in the committee`, [m.identifier]);
    if (seenPeers.has(m.peerId)) fail('DUPLICATE_IDENTIFIER', `peer ${m.peerId} appears twice in the committee`, [m.identifier]);
    seen.add(m.identifier);
    seenPeers.add(m.peerId);
    out.push(m);
  }
  return out;
}

/** Find a member by identifier or peer id. */
export function findMember(committee: CommitteeMember[], who: string): CommitteeMember | undefined {
  return committee.find((m) => m.identifier === who || m.peerId === who);
}

/** identifier -> peer id map, used to add peer ids to error details. */
export function peerIdsOf(committee: CommitteeMember[], identifiers: string[]): string[] {
  return identifiers.map((id) => committee.find((m) => m.identifier === id)?.peerId ?? id);
}
