// Step 3/4 boundary: the signing set a node broadcasts (the senders whose proposal it accepted),
// and the check of a signing set received from a peer.
import type { SigningSetPayload } from './messages.js';
import type { Check } from './proposal.js';

/**
 * Sets smaller than t are ignored (seed 004); a set naming a peer outside the epoch's committee,
 * naming a peer twice, or leaving out its own sender is malformed. `committee` is the epoch
 * record's, never this node's view of who is online (see decideThresholdSet).
 */
export function checkSigningSet(sender: string, m: SigningSetPayload, committee: Set<string>, threshold: number): Check {
  const members = new Set(m.members);
  if (members.size !== m.members.length) return { result: 'reject', reason: 'duplicate-member' };
  if (m.members.some((p) => !committee.has(p))) return { result: 'reject', reason: 'unknown-member' };
  if (!members.has(sender)) return { result: 'reject', reason: 'sender-not-in-own-set' };
  if (members.size < threshold) return { result: 'ignore', reason: 'below-threshold' };
  return { result: 'accept' };
}
