// FROST identifiers and committee bookkeeping.
// A member's identifier is its position in the committee (seniority order) plus one: 1, 2, ..., n,
// as noble's 32-byte scalar hex (Identifier.fromNumber). Every node computes the committee in the
// same order from shared data, so it computes the same identifiers without another round of
// messages. Small identifiers are what make the fast paths cheap: evaluating a Feldman commitment
// at x = 1..n takes a few doublings per coefficient instead of a 256-bit scalar multiplication
// (see poly.ts). An operator's identifier can differ between epochs: it belongs to the epoch's
// committee, so look it up there (identifierOf), never derive it from the peer id alone.
import { fail, frost, tryIdentifier } from './internal.js';
import type { CommitteeMember } from './types.js';

const IDENT_RE = /^[0-9a-f]{64}$/;
/** Largest committee the identifier scheme is used with (far above any configured committee.max). */
const MAX_POSITION = 1_000_000;

/** FROST identifier of the member at 0-based `position` in a committee: position + 1 as a scalar. */
export function identifierAt(position: number): string {
  if (!Number.isSafeInteger(position) || position < 0 || position >= MAX_POSITION)
    fail('INVALID_INPUT', `committee position must be an integer in [0, ${MAX_POSITION}), got ${position}`);
  return frost.Identifier.fromNumber(position + 1);
}

/** Committee members for peer ids given in seniority order; identifiers follow the order. */
export function membersInOrder(peerIds: readonly string[]): CommitteeMember[] {
  if (!Array.isArray(peerIds)) fail('INVALID_INPUT', 'peer ids must be an array');
  return peerIds.map((peerId, i) => {
    if (typeof peerId !== 'string' || peerId.length === 0 || peerId.length > 256)
      fail('INVALID_INPUT', 'peer id must be a non-empty string of at most 256 characters');
    return { peerId, identifier: identifierAt(i) };
  });
}

/** The identifier a peer holds in this committee, or undefined if it is not a member. */
export function identifierOf(committee: readonly CommitteeMember[], peerId: string): string | undefined {
  return committee.find((m) => m.peerId === peerId)?.identifier;
}

/** Null when every member's identifier is its position + 1; otherwise why not (for record checks). */
export function positionalIdentifierProblem(committee: readonly CommitteeMember[]): string | null {
  for (let i = 0; i < committee.length; i++) {
    const m = committee[i];
    if (!m || typeof m.identifier !== 'string') return `committee entry ${i} has no identifier`;
    if (i >= MAX_POSITION || m.identifier !== identifierAt(i)) return `identifier of ${m.peerId} is not its committee position ${i + 1}`;
  }
  return null;
}

/** floor(2n/3) + 1, capped at n (n = 3f + 1 gives 2f + 1). */
export function defaultThreshold(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) fail('INVALID_INPUT', `committee size must be a positive integer, got ${n}`);
  return Math.min(n, Math.floor((2 * n) / 3) + 1);
}

/**
 * Accepts committee entries as CommitteeMember records, or as strings: a 64-hex string is taken
 * as a FROST identifier (its peer id is then unknown and set to the identifier itself), any other
 * string as a peer id whose identifier is identifierAt(its index). Order is kept (seniority order).
 * Throws INVALID_IDENTIFIER / DUPLICATE_IDENTIFIER naming the offending entry.
 */
export function normalizeCommittee(committee: ReadonlyArray<string | CommitteeMember>): CommitteeMember[] {
  if (!Array.isArray(committee)) fail('INVALID_INPUT', 'committee must be an array');
  const out: CommitteeMember[] = [];
  const seen = new Set<string>();
  const seenPeers = new Set<string>();
  for (const [i, entry] of committee.entries()) {
    let m: CommitteeMember;
    if (typeof entry === 'string') {
      if (entry.length === 0 || entry.length > 256) fail('INVALID_INPUT', 'peer id must be a non-empty string of at most 256 characters');
      m = IDENT_RE.test(entry) ? { peerId: entry, identifier: entry } : { peerId: entry, identifier: identifierAt(i) };
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
